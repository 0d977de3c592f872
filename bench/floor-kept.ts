/**
 * Baseline C with the guarantees' own costs (`wire: 'copy-text-kept'`): the text wire of issue 12
 * (direction 6) carrying, on each side, the least work the gateway's guarantees take, done by the
 * gateway's own code where it exists: every field of every line checked on both sides by a checker
 * of the kind a validator generated from schemas/enterprise.basic.json would be (shape, length,
 * check character, enumerations, exact scale), the envelope sealed, signed and verified
 * (sealJson, signedText), the outbox, the checkpoint, the ledgers with every record key
 * (putOutbox, saveCheckpoint, Ledger), the inbox (claimInbox), the versions written by COPY beside
 * the lines, and a signed receipt into the target's outbox. Left out, because the gateway skips
 * them when there is nothing to do: quarantine writes and supersede checks; and the receipt's
 * publication and its handling at the source (one small message per page).
 *
 * What this reaches bounds a complete text wire from above on this machine: each stage here is the
 * cheapest form of what the gateway would do, with nothing for code tables, projections, deletes or
 * the fallbacks a real apply needs.
 */
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { Database, Position } from '../adapters/adapter';
import { saveCheckpoint } from '../gateway/bookkeeping/checkpoint';
import { claimInbox } from '../gateway/bookkeeping/inbox';
import { outboxItem, putOutbox, removeFromOutbox } from '../gateway/bookkeeping/outbox';
import { createBookkeeping } from '../gateway/bookkeeping/schema';
import { readMeta, seal, sealJson, sha256, signedText, HEADERS, type Sealed } from '../gateway/envelope/envelope';
import { Keyring } from '../gateway/envelope/keys';
import { isUscc } from '../gateway/indicators/formats';
import { versionOf } from '../gateway/indicators/codec';
import { Ledger } from '../gateway/ledger/ledger';
import { ENT_REGISTRY_FIELDS } from '../gateway/demo/tables';
import { SOURCE_COLUMNS } from './data';

const gunzipAsync = promisify(gunzip);

export const KEPT_FLOW = 'floor-kept';
const SOURCE = 'amr';
const TARGET = 'qs';
const RESOURCE = 'enterprise.basic';
const KEY = SOURCE_COLUMNS.indexOf(ENT_REGISTRY_FIELDS.uscc);
const WATERMARK = SOURCE_COLUMNS.indexOf(ENT_REGISTRY_FIELDS.updated_at);

/** One COPY text field (escaped; `\N` for NULL) → why its indicator refuses it, or null. */
type FieldCheck = (field: string) => string | null;

const NULL = '\\N';
const unescaped = (f: string): string => (f.includes('\\') ? f.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r' })[c] ?? c) : f);

/** Code points, as JSON Schema counts maxLength: only counted one by one when UTF-16 units exceed the bound. */
function tooLong(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

function text(o: { max?: number; min?: number; pattern?: RegExp; required?: boolean; format?: (s: string) => boolean; values?: readonly string[] }): FieldCheck {
  const values = o.values ? new Set(o.values) : null;
  return (f) => {
    if (f === NULL) return o.required ? 'missing' : null;
    const s = unescaped(f);
    if (o.max !== undefined && tooLong(s, o.max)) return `longer than ${o.max}`;
    if (o.min !== undefined && s.length < o.min) return `shorter than ${o.min}`;
    if (o.pattern && !o.pattern.test(s)) return 'does not match its pattern';
    if (o.format && !o.format(s)) return 'not in its format';
    if (values && !values.has(s)) return 'not one of its values';
    return null;
  };
}

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?$/;
/** numeric(18,4): the target column's exactness, as ValueCheck sees it, in the same pass */
const DECIMAL_18_4 = /^-?\d{1,14}(\.\d{1,4})?$/;

/** Per indicator of enterprise.basic, in the register's column order. */
const BY_INDICATOR: Record<keyof typeof ENT_REGISTRY_FIELDS, FieldCheck> = {
  uscc: text({ required: true, format: isUscc }),
  name: text({ required: true, min: 2, max: 200 }),
  legal_rep: text({ max: 50 }),
  reg_capital: text({ pattern: DECIMAL_18_4 }),
  currency: text({ values: ['CNY', 'USD', 'EUR', 'HKD', 'JPY'] }),
  status: text({ required: true, values: ['1', '2', '3', '4', '5'] }),
  established: text({ pattern: DATE }),
  ent_type: text({ max: 50 }),
  industry: text({ pattern: /^[A-T]([0-9]{2,4})?$/ }),
  region: text({ pattern: /^[0-9]{6}$/ }),
  address: text({ max: 300 }),
  scope: text({ max: 2000 }),
  reg_authority: text({ max: 100 }),
  employees: (f) => (f === NULL ? null : /^\d{1,10}$/.test(f) && Number(f) <= 2147483647 ? null : 'not an integer ≥ 0 its column holds'),
  listed: (f) => (f === NULL || f === 't' || f === 'f' ? null : 'not a boolean'),
  updated_at: text({ required: true, pattern: TIMESTAMP }),
};
const CHECKS: FieldCheck[] = SOURCE_COLUMNS.map((column) => {
  const indicator = Object.entries(ENT_REGISTRY_FIELDS).find(([, c]) => c === column)![0] as keyof typeof ENT_REGISTRY_FIELDS;
  return BY_INDICATOR[indicator];
});

/** Every line checked, field by field; the keys in line order and, for the target, its versions as COPY lines. */
function checkLines(body: string, versionLines: boolean): { keys: string[]; versions: string } {
  const keys: string[] = [];
  let versions = '';
  let start = 0;
  while (start < body.length) {
    const end = body.indexOf('\n', start);
    const fields = body.slice(start, end).split('\t');
    if (fields.length !== CHECKS.length) throw new Error(`floor (kept): line ${keys.length + 1} has ${fields.length} fields`);
    for (let i = 0; i < CHECKS.length; i++) {
      const problem = CHECKS[i](fields[i]);
      if (problem) throw new Error(`floor (kept): line ${keys.length + 1}, ${SOURCE_COLUMNS[i]}: ${problem}`);
    }
    const key = fields[KEY];
    keys.push(key);
    if (versionLines) versions += `${KEPT_FLOW}\t${key}\t${versionOf('datetime', fields[WATERMARK])}\tf\n`;
    start = end + 1;
  }
  return { keys, versions };
}

/** A department's bookkeeping database for the floor (a throw-away database of its own) and its ledger. */
export async function keptBooks(db: Database, keys: Keyring, department: string): Promise<Ledger> {
  await createBookkeeping(db, department);
  const ledger = new Ledger(keys, department);
  await ledger.load(db);
  return ledger;
}

export function keptKeyring(dir: string): Keyring {
  const keys = new Keyring(dir);
  keys.generate([SOURCE, TARGET]);
  return keys;
}

/** A page checked and sealed, to commit. */
export interface KeptPage {
  sealed: Sealed;
  keys: string[];
  from: Position | null;
  to: Position;
}

/** The source end: each page checked and sealed, then committed to the outbox with its checkpoint and ledger entries. */
export class KeptSource {
  private sequence = 1;
  private position: Position | null = null;

  constructor(private readonly books: Database, private readonly keys: Keyring, private readonly ledger: Ledger) {}

  async seal(lines: Buffer, last: unknown[]): Promise<KeptPage> {
    const { keys } = checkLines(lines.toString('utf8'), false);
    const sealed = await sealJson(this.keys, {
      kind: 'records', messageId: randomUUID(), flow: KEPT_FLOW, resource: RESOURCE, from: SOURCE, to: TARGET, sequence: this.sequence++, count: keys.length, head: this.ledger.head,
    }, lines);
    const from = this.position;
    this.position = { watermark: last[0], key: [last[1]] };
    return { sealed, keys, from, to: this.position };
  }

  /** Pages commit in order, one at a time, as the extractor commits them. */
  async commit({ sealed, keys, from, to }: KeptPage): Promise<void> {
    const { sequence } = sealed.meta;
    await this.books.transaction(async (tx) => {
      await putOutbox(tx, [outboxItem(sealed, 'dxg.floor', TARGET)]);
      await saveCheckpoint(tx, KEPT_FLOW, from, to, sequence + 1);
      await this.ledger.append(tx, [
        { kind: 'extract', flow: KEPT_FLOW, from: SOURCE, count: keys.length, detail: { after: from, last: to } },
        { kind: 'publish', flow: KEPT_FLOW, messageId: sealed.meta.messageId, from: SOURCE, to: TARGET, count: keys.length, digest: String(sealed.headers[HEADERS.sha256]), keys, detail: { sequence, bytes: sealed.body.length } },
      ]);
    });
  }

  /** The broker confirmed them: out of the outbox, as the relay does. */
  confirmed(messageIds: string[]): Promise<void> {
    return removeFromOutbox(this.books, messageIds);
  }
}

/** The target end: each message verified, its lines checked, applied by COPY with its versions, inbox, ledger entry and receipt in one transaction. */
export class KeptTarget {
  constructor(private readonly books: Database, private readonly table: string, private readonly columns: readonly string[],
    private readonly keys: Keyring, private readonly ledger: Ledger) {}

  async apply(message: { messageId?: unknown; headers?: Record<string, unknown>; body: Buffer }): Promise<number> {
    const meta = readMeta(message.messageId, message.headers);
    const digest = sha256(message.body);
    if (message.headers?.[HEADERS.sha256] !== digest) throw new Error('floor (kept): digest does not match');
    if (!this.keys.verify(meta.from, signedText(meta, 'gzip', digest), String(message.headers?.[HEADERS.signature]))) throw new Error('floor (kept): signature does not verify');
    const lines = await gunzipAsync(message.body);
    const { keys, versions } = checkLines(lines.toString('utf8'), true);
    if (keys.length !== meta.count) throw new Error(`floor (kept): ${keys.length} lines, the signed header says ${meta.count}`);
    let receipt: Sealed | undefined;
    await this.books.transaction(async (tx) => {
      if (!(await claimInbox(tx, meta.messageId, meta.flow, meta.from, tx.sql.isUniqueViolation))) throw new Error('floor (kept): a message came twice');
      await tx.copyIn!('dxg_versions', ['flow', 'record_key', 'version', 'deleted'], versions);
      await tx.copyIn!(this.table, this.columns, lines);
      receipt = await seal(this.keys, {
        kind: 'receipt', messageId: randomUUID(), flow: meta.flow, resource: meta.resource, from: TARGET, to: meta.from, sequence: meta.sequence, count: keys.length, head: this.ledger.head,
      }, { kind: 'records', applied: keys.length, superseded: 0, rejected: 0, rejects: [] });
      await putOutbox(tx, [outboxItem(receipt, 'dxg.floor.receipts', meta.from)]);
      await this.ledger.append(tx, [{
        kind: 'apply', flow: meta.flow, messageId: meta.messageId, from: meta.from, to: TARGET, count: keys.length, digest, keys,
        detail: { sequence: meta.sequence, written: keys.length, superseded: 0 },
      }]);
    });
    // the relay's part for the receipt, short of publishing it
    await removeFromOutbox(this.books, [receipt!.meta.messageId]);
    return keys.length;
  }
}
