import type { Database } from '../../adapters/adapter';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { anchorsHeld, type Anchor } from '../bookkeeping/anchors';
import type { LedgerHead } from '../envelope/envelope';
import { entryHash, restores, verifyLedger, type StoredEntry } from '../ledger/ledger';
import { entriesForMessages, readLedger, type LedgerFilter } from '../ledger/query';
import { renderTable } from './table';
import { count } from './words';

/** A ledger entry and the department whose ledger holds it. */
export type TrailEntry = StoredEntry & { ledger: string };

/**
 * The exchange log across department ledgers, in time order. With a record key: the entries naming
 * it (publish, quarantine, apply, reject) and every step that followed its messages elsewhere.
 */
export async function collectTrail(dbs: Map<string, Database>, filter: LedgerFilter): Promise<TrailEntry[]> {
  const all: TrailEntry[] = [];
  for (const [dept, db] of dbs) {
    const found = await readLedger(db, filter);
    all.push(...found.map((e) => ({ ...e, ledger: dept })));
  }
  if (filter.key) {
    const ids = [...new Set(all.map((e) => e.message_id).filter((m): m is string => !!m))];
    const seen = new Set(all.map((a) => `${a.ledger}:${a.seq}`));
    for (const [dept, db] of dbs) {
      for (const e of await entriesForMessages(db, ids)) {
        if (!seen.has(`${dept}:${e.seq}`)) all.push({ ...e, ledger: dept });
      }
    }
  }
  return all.sort((a, b) => a.at.localeCompare(b.at) || a.ledger.localeCompare(b.ledger) || Number(a.seq) - Number(b.seq));
}

/** An entry as `dxg audit --format json` and the centre's API give it. */
export interface TrailJson {
  ledger: string;
  seq: number;
  at: string;
  kind: string;
  flow: string | null;
  messageId: string | null;
  from: string | null;
  to: string | null;
  count: number;
  digest: string | null;
  keys: string[];
  detail: unknown;
  /** null where the entry is shown masked: the hash covers the whole keys, so a masked key's few unknown digits could be tried against it */
  hash: string | null;
}

export function trailJson(rows: readonly TrailEntry[]): TrailJson[] {
  return rows.map((r) => ({
    ledger: r.ledger, seq: Number(r.seq), at: r.at, kind: r.kind, flow: r.flow, messageId: r.message_id, from: r.from_dept, to: r.to_dept,
    count: Number(r.record_count), digest: r.digest, keys: r.record_keys ? r.record_keys.split('\n') : [], detail: r.detail ? JSON.parse(r.detail) : null, hash: r.hash,
  }));
}

/** Entries back from their JSON form (the centre's answers), for the same tables and files. */
export function fromJson(rows: readonly TrailJson[]): TrailEntry[] {
  return rows.map((r) => ({
    ledger: r.ledger, seq: String(r.seq), at: r.at, kind: r.kind, flow: r.flow, message_id: r.messageId, from_dept: r.from, to_dept: r.to, record_count: r.count,
    digest: r.digest, record_keys: r.keys.length ? r.keys.join('\n') : null, detail: r.detail === null ? null : JSON.stringify(r.detail), algorithm: null, prev_hash: '', hash: r.hash ?? '', signature: '',
  }));
}

/** The trail as a terminal table, with its entry count. */
export function trailTable(rows: TrailEntry[]): string {
  const head = ['at', 'ledger', 'seq', 'kind', 'flow', 'message', 'from', 'to', 'records', 'detail'];
  const table = renderTable(head, rows.map((r) => [r.at.replace('T', ' ').slice(0, 23), r.ledger, Number(r.seq), r.kind, r.flow ?? '', r.message_id?.slice(0, 8) ?? '', r.from_dept ?? '', r.to_dept ?? '', Number(r.record_count), brief(r)]));
  return `${table}\n${count(rows.length, 'entry', 'entries')}`;
}

function brief(r: StoredEntry): string {
  if (!r.detail) return '';
  const d = JSON.parse(r.detail) as Record<string, unknown>;
  if (d.reasons) return Object.entries(d.reasons as Record<string, number>).map(([k, n]) => `${n}× ${k}`).join('; ').slice(0, 120);
  if (d.reason) return String(d.reason).slice(0, 120);
  if (r.kind === 'receipt') return `rejected ${d.rejected}, superseded ${d.superseded}`;
  const grant = d.grant ? `grant ${String(d.grant)}` : '';
  if (r.kind === 'apply') return [`written ${d.written}, superseded ${d.superseded}`, grant].filter(Boolean).join('; ');
  if (r.kind === 'publish') return grant;
  if (r.kind === 'grant-end') return `grant ${String(d.grant)} ${String(d.ended)}: on_end ${String(d.onEnd)}${d.removed !== undefined ? `, ${String(d.removed)} rows removed` : ''}`;
  const withheld = d.withheld && Object.keys(d.withheld).length ? `withheld ${JSON.stringify(d.withheld)}` : '';
  if (r.kind === 'extract') return [d.filtered && Object.keys(d.filtered).length ? `filtered ${JSON.stringify(d.filtered)}` : '', withheld].filter(Boolean).join('; ');
  return '';
}

/**
 * Every department ledger's chain and signatures checked, then against its anchors: the heads of it
 * that the other departments recorded from its envelopes and receipts. A ledger cut short, rolled back
 * or rewritten below such a head is broken even when its own chain is consistent, unless an operator
 * declared a restore from a backup (`dxg init --restored`) after the head was seen. One line per
 * department, and how many are not intact.
 */
export async function verifyLedgers(dbs: Map<string, Database>, unreachable: Map<string, string>, keyring: Keyring): Promise<{ lines: string[]; broken: number }> {
  const lines: string[] = [];
  let broken = unreachable.size;
  for (const [d, why] of unreachable) lines.push(`${d}: cannot check: ${why}`);
  const seen = await anchorsByLedger(dbs);
  for (const [dept, db] of dbs) {
    try {
      const r = await verifyLedger(db, keyring, dept);
      const anchored = r.broken ? null : await againstAnchors(db, r.head!, seen.get(dept) ?? []);
      if (r.broken) {
        broken++;
        lines.push(`${dept}: BROKEN at entry ${r.broken.seq}: ${r.broken.reason} (${r.checked} entries before it are intact)`);
      } else if (anchored?.broken) {
        broken++;
        lines.push(`${dept}: BROKEN: ${anchored.broken}`);
      } else {
        lines.push(`${dept}: ${r.checked} entries, chain and signatures intact`);
        if (anchored?.note) lines.push(`${dept}: ${anchored.note}`);
      }
    } catch (err) {
      broken++;
      lines.push(`${dept}: cannot check: ${errorMessage(err)}`);
    }
  }
  return { lines, broken };
}

type Seen = Anchor & { by: string };

async function anchorsByLedger(dbs: Map<string, Database>): Promise<Map<string, Seen[]>> {
  const out = new Map<string, Seen[]>();
  for (const [by, db] of dbs) {
    for (const a of await anchorsHeld(db)) out.set(a.department, [...(out.get(a.department) ?? []), { ...a, by }]);
  }
  return out;
}

async function againstAnchors(db: Database, head: LedgerHead, seen: Seen[]): Promise<{ broken?: string; note: string }> {
  const declared = await restores(db);
  let rolledBack = 0;
  // an empty ledger's head (entry 0) holds it to nothing
  const held = seen.filter((a) => a.seq !== '0');
  for (const a of held) {
    const restoredSince = declared.find((r) => r.at > a.seenAt);
    const wrong = BigInt(a.seq) > BigInt(head.seq)
      ? `the ledger ends at entry ${head.seq}, but ${a.by} saw entry ${a.seq} of it (${a.seenAt}): cut short or rolled back`
      : (await entryHash(db, a.seq)) !== a.hash ? `entry ${a.seq} is not the entry ${a.by} saw (${a.seenAt}): rewritten` : null;
    if (!wrong) continue;
    if (!restoredSince) return { broken: wrong, note: '' };
    rolledBack++;
  }
  const anchors = held.length ? `matches ${held.length === 1 ? 'the head' : `the ${held.length} heads`} of it other departments saw` : '';
  return { note: rolledBack ? `${anchors}, but for ${rolledBack} rolled back by the restore declared at entry ${declared[declared.length - 1].seq}` : anchors };
}
