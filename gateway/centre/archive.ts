import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, Row } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { CENTRE } from '../config/duration';
import type { ExchangeConfig } from '../config/model';
import type { Keyring } from '../envelope/keys';
import { archiveText } from '../ledger/archive-file';
import type { StoredEntry } from '../ledger/ledger';
import { log } from '../log';
import type { Journal } from './journal';

/** Entries per archive file at most: a run writes several files for a long backlog. */
const PER_FILE = 100_000;

/**
 * Moves checked entries older than `centre.archive.after` out of the centre's database into signed
 * files (gateway/ledger/archive-file.ts). A file is written whole (to a temporary name, then renamed)
 * before its entries leave the database, in one transaction with the record of the archive.
 */
export class Archiver {
  constructor(private readonly db: Database, private readonly config: ExchangeConfig, private readonly keyring: Keyring, private readonly journal: Journal) {}

  async run(): Promise<{ department: string; file: string; entries: number }[]> {
    const archive = this.config.centre?.archive;
    if (!archive) return [];
    mkdirSync(archive.dir, { recursive: true });
    const before = new Date(Date.now() - archive.afterMs).toISOString();
    const written: { department: string; file: string; entries: number }[] = [];
    const departments = await this.db.query<{ department: string; contiguous: string }>(sql`SELECT department, contiguous FROM centre_departments WHERE broken_seq IS NULL`);
    for (const { department, contiguous } of departments) {
      for (;;) {
        // only the complete, checked part of the copy, oldest first
        const entries = await this.db.query<Row & StoredEntry>(sql`SELECT seq, at, kind, flow, message_id, from_dept, to_dept, record_count, digest, record_keys, detail, algorithm, prev_hash, hash, signature
          FROM centre_ledger WHERE department = ${department} AND seq <= ${String(contiguous)} AND at < ${before} ORDER BY seq LIMIT ${PER_FILE}`);
        if (entries.length === 0) break;
        const rows = entries.map((e) => ({ ...e, seq: String(e.seq), record_count: Number(e.record_count) }));
        const [from, to] = [rows[0].seq, rows[rows.length - 1].seq];
        const header = { format: 'dxg-archive/1' as const, exchange: this.config.exchange, department, from, to, prevHash: rows[0].prev_hash, createdAt: new Date().toISOString() };
        const file = join(archive.dir, `${this.config.exchange}-${department}-${from.padStart(12, '0')}-${to.padStart(12, '0')}.jsonl`);
        writeFileSync(`${file}.part`, archiveText(header, rows, (digest) => this.keyring.sign(CENTRE, digest)));
        renameSync(`${file}.part`, file);
        await this.db.transaction(async (tx) => {
          await tx.execute(sql`DELETE FROM centre_record_keys WHERE department = ${department} AND seq >= ${from} AND seq <= ${to}`);
          await tx.execute(sql`DELETE FROM centre_ledger WHERE department = ${department} AND seq >= ${from} AND seq <= ${to}`);
          await tx.execute(sql`INSERT INTO centre_archives (department, from_seq, to_seq, file) VALUES (${department}, ${from}, ${to}, ${file})`);
        });
        await this.journal.record(CENTRE, 'archived', `${department} ${from}..${to}`, file);
        log.info('ledger entries archived', { department, from, to, file });
        written.push({ department, file, entries: rows.length });
        if (rows.length < PER_FILE) break;
      }
    }
    return written;
  }
}
