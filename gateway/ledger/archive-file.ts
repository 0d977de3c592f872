import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CENTRE } from '../config/duration';
import type { Keyring } from '../envelope/keys';
import { canonical, chainHash, type StoredEntry } from './ledger';

/** The first line of an archive file. */
export interface ArchiveHeader {
  format: 'dxg-archive/1';
  exchange: string;
  department: string;
  /** first and last entry in the file */
  from: string;
  to: string;
  /** the hash of the entry before `from` (the chain goes on from it) */
  prevHash: string;
  createdAt: string;
}

/**
 * An archive file (DESIGN §8, X-Road's message-log archives are the model): a header line, one
 * ledger entry per line as the department wrote it, and a last line with the centre's signature over
 * the SHA-256 of every line before it.
 */
export function archiveText(header: ArchiveHeader, entries: readonly StoredEntry[], sign: (digest: string) => string): string {
  const body = [JSON.stringify(header), ...entries.map((e) => JSON.stringify(e))].join('\n') + '\n';
  const digest = createHash('sha256').update(body).digest('hex');
  return `${body}${JSON.stringify({ sha256: digest, signature: sign(digest) })}\n`;
}

/**
 * Checks an archive offline: the centre's signature over the file, then the chain and every
 * entry's signature with the department's keys (the keys folder, or the key list kept there).
 */
export function verifyArchive(file: string, keyring: Keyring): { header: ArchiveHeader; checked: number; broken?: string } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.length);
  if (lines.length < 2) throw new Error(`${file}: not a dxg archive (too short)`);
  const header = JSON.parse(lines[0]) as ArchiveHeader;
  if (header.format !== 'dxg-archive/1') throw new Error(`${file}: not a dxg archive (format ${String(header.format)})`);
  const trailer = JSON.parse(lines[lines.length - 1]) as { sha256?: string; signature?: string };
  const body = `${lines.slice(0, -1).join('\n')}\n`;
  const digest = createHash('sha256').update(body).digest('hex');
  if (trailer.sha256 !== digest) return { header, checked: 0, broken: 'the file was changed after the centre signed it (digest differs)' };
  if (!trailer.signature || !keyring.verify(CENTRE, digest, trailer.signature)) return { header, checked: 0, broken: "the file's signature does not verify with the centre's key" };
  let prev = header.prevHash;
  let expected = BigInt(header.from);
  let checked = 0;
  for (const line of lines.slice(1, -1)) {
    const e = JSON.parse(line) as StoredEntry;
    const at = `entry ${e.seq} of ${header.department}`;
    if (BigInt(e.seq) !== expected) return { header, checked, broken: `${at}: expected entry ${expected}` };
    if (e.prev_hash !== prev) return { header, checked, broken: `${at} does not chain to the entry before it` };
    if (chainHash(prev, canonical(e)) !== e.hash) return { header, checked, broken: `${at}: content does not match its hash` };
    if (!keyring.verify(header.department, e.hash, e.signature, 'any')) return { header, checked, broken: `${at}: signature does not verify with the key of '${header.department}'` };
    prev = e.hash;
    expected += 1n;
    checked++;
  }
  if (expected - 1n !== BigInt(header.to)) return { header, checked, broken: `the file ends at entry ${expected - 1n}, its header says ${header.to}` };
  return { header, checked };
}
