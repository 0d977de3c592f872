import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '../../adapters/sql';
import type { TestDatabase } from '../helpers/databases';
import type { TestExchange } from '../helpers/exchange';
import { insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/**
 * Each ledger is anchored in its peers: envelopes carry the sender's ledger head, receipts the
 * target's, and each side keeps the highest it saw. Cutting a ledger short and rolling its head back
 * keeps its own chain consistent, and is still found.
 */
describe('ledgers anchored in their peers', () => {
  let x: ItemExchange;
  let ex: TestExchange;
  let src: TestDatabase;
  let full: TestDatabase;

  type State = { ledger: Record<string, unknown>[]; head: Record<string, unknown>; checkpoint: Record<string, unknown>[] };
  const save = async (): Promise<State> => ({
    ledger: await src.query(sql`SELECT * FROM dxg_ledger ORDER BY seq`),
    head: (await src.query(sql`SELECT * FROM dxg_ledger_head`))[0],
    checkpoint: await src.query(sql`SELECT * FROM dxg_checkpoint`),
  });
  /** Puts the source's bookkeeping back as it was (a restore from a backup, or a cover-up). */
  const putBack = async (s: State) => {
    const kept = s.ledger.map((e) => String(e.seq));
    const last = s.ledger[s.ledger.length - 1];
    await src.execute(sql`DELETE FROM dxg_ledger WHERE seq > ${last.seq as string}`);
    expect((await src.query(sql`SELECT count(*) AS n FROM dxg_ledger`))[0]).toEqual({ n: String(kept.length) });
    await src.execute(sql`UPDATE dxg_ledger_head SET seq = ${s.head.seq as string}, hash = ${s.head.hash as string} WHERE id = 1`);
    for (const c of s.checkpoint) await src.execute(sql`UPDATE dxg_checkpoint SET position = ${c.position as string}, next_sequence = ${c.next_sequence as string} WHERE flow = ${c.flow as string}`);
  };

  beforeAll(async () => {
    x = await itemExchange('an');
    ({ ex, src, full } = x);
    await ex.setUp();
  });

  afterAll(async () => {
    await x?.destroy();
  });

  it('finds a ledger cut short even when its own chain is consistent, and takes a declared restore', async () => {
    await insertItems(src, validItems(100));
    await ex.ok('run', '--once');
    const backup = await save();
    await insertItems(src, validItems(100, 100));
    await ex.ok('run', '--once');
    // an envelope carries the head its sender had when it sealed it: the next cycle's tell the peers of this one
    await insertItems(src, validItems(5, 200));
    await ex.ok('run', '--once');
    const verified = await ex.ok('audit', 'verify');
    expect(verified).toMatch(/src: \d+ entries, chain and signatures intact\nsrc: matches the 2 heads of it other departments saw/);
    expect(verified).toMatch(/full: \d+ entries, chain and signatures intact\nfull: matches the head of it other departments saw/);
    const [seen] = await full.query<{ seq: string }>(sql`SELECT seq FROM dxg_anchors WHERE department = 'src'`);
    expect(BigInt(seen.seq)).toBeGreaterThan(BigInt(backup.head.seq as string));

    // the tail deleted and the head rolled back: the chain alone says nothing is wrong
    await putBack(backup);
    const cut = await ex.dxg('audit', 'verify');
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(new RegExp(`src: BROKEN: the ledger ends at entry ${backup.head.seq}, but (full|part) saw entry \\d+ of it \\(.*\\): cut short or rolled back`));

    // wiping the ledger whole is found the same way
    const all = await save();
    await src.execute(sql`DELETE FROM dxg_ledger`);
    await src.execute(sql`UPDATE dxg_ledger_head SET seq = 0, hash = ${'0'.repeat(64)} WHERE id = 1`);
    expect((await ex.dxg('audit', 'verify')).stdout).toMatch(/src: BROKEN: the ledger ends at entry 0, but (full|part) saw entry/);

    // a real restore from the backup, declared: not tampering; what it rolled back goes again, applied once
    for (const e of all.ledger) {
      await src.execute(sql`INSERT INTO dxg_ledger (${sql.ids(Object.keys(e))}) VALUES ${sql.list(Object.values(e))}`);
    }
    await src.execute(sql`UPDATE dxg_ledger_head SET seq = ${all.head.seq as string}, hash = ${all.head.hash as string} WHERE id = 1`);
    const declared = await ex.ok('init', '--restored', 'src');
    expect(declared).toMatch(/src: restore declared at ledger entry \d+/);
    await ex.ok('run', '--once');
    const after = await ex.ok('audit', 'verify');
    expect(after).toMatch(/src: \d+ entries, chain and signatures intact\nsrc: matches the 2 heads of it other departments saw, but for [12] rolled back by the restore declared at entry \d+/);
    const rows = await snapshot(full, 't_full');
    expect(rows.size).toBe(205);
    // sent again under new message ids with the versions they had: each record once, none older than before
    const versions = await full.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_versions WHERE flow = 'items'`);
    expect(Number(versions[0].n)).toBe(205);
    const titles = await src.query<{ code: string; title: string }>(sql`SELECT code, title FROM src_item`);
    for (const t of titles) expect(rows.get(t.code)?.title).toBe(t.title);
  });

  it('sends a target restored from a backup what the restore rolled back, and nothing to the other targets', async () => {
    const y = await itemExchange('rt');
    const dir = mkdtempSync(join(tmpdir(), 'dxg-restore-'));
    try {
      await y.ex.setUp();
      await insertItems(y.src, validItems(100));
      await y.ex.ok('run', '--once');
      execFileSync('pg_dump', ['--format=custom', `--file=${join(dir, 'full.dump')}`, y.full.url]);
      await insertItems(y.src, validItems(100, 100));
      await y.src.execute(sql`UPDATE src_item SET title = title || '改', updated_at = clock_timestamp() WHERE code < 'AB0010'`);
      await y.ex.ok('run', '--once');
      const partApplied = await y.part.query(sql`SELECT message_id FROM dxg_inbox`);

      // the target's database, bookkeeping and all, back as it was at the backup
      execFileSync('pg_restore', ['--clean', '--if-exists', `--dbname=${y.full.url}`, join(dir, 'full.dump')]);
      expect((await snapshot(y.full, 't_full')).size).toBe(100);
      const declared = await y.ex.ok('init', '--restored', 'full');
      expect(declared).toMatch(/full: restore declared at ledger entry \d+/);
      expect(declared).toMatch(/full: asked src to send flow items again/);

      // the source's node answers when it runs; the target applies what arrives
      for (let i = 0; i < 10 && (await snapshot(y.full, 't_full')).size < 200; i++) await y.ex.ok('run', '--once');
      const rows = await snapshot(y.full, 't_full');
      const titles = await y.src.query<{ code: string; title: string }>(sql`SELECT code, title FROM src_item`);
      expect(rows.size).toBe(200);
      for (const t of titles) expect(rows.get(t.code)?.title).toBe(t.title);
      // only the restored target was sent the flow again
      expect(await y.part.query(sql`SELECT message_id FROM dxg_inbox`)).toHaveLength(partApplied.length);
      const [resync] = await y.src.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'replay' AND to_dept = 'full'`);
      expect(JSON.parse(resync.detail)).toMatchObject({ stage: 'resync', reason: expect.stringMatching(/restored from a backup/) });
      expect(await y.src.query(sql`SELECT flow FROM dxg_checkpoint WHERE flow LIKE 'items#full%'`)).toEqual([]);
      // what the resync extracted enters the restored target's accounts only: the other target's still reconcile
      const status = JSON.parse(await y.ex.ok('status', '--format', 'json')) as { target: string; extracted: number; reconciled: string }[];
      expect(status.find((r) => r.target === 'part')).toMatchObject({ extracted: 210, reconciled: 'yes' }); // 200 rows, 10 of them changed once
      expect(status.find((r) => r.target === 'full')!.extracted).toBeGreaterThan(210);
      const verified = await y.ex.ok('audit', 'verify');
      // a declared restore is not tampering
      expect(verified).toMatch(/full: \d+ entries, chain and signatures intact\nfull: matches (the head|the \d+ heads) of it other departments saw/);
    } finally {
      await y.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
