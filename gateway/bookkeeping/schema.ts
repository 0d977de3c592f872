import type { Database, SqlDialect } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { DxgError } from '../errors';

/**
 * The gateway's own tables in each department database, all prefixed `dxg_`. Business tables are
 * only ever read (source) or written at the targets a flow declares.
 *
 * The tables carry a schema version (`dxg_schema`), so that a department running for years can be
 * upgraded in place by `dxg init`. Version 1 is the first release's tables, which had no version
 * table; each later version is one step of `UPGRADES`, run in order. A node refuses to run on a
 * version other than its own: an older one needs `dxg init`, a newer one a newer dxg.
 */
export const SCHEMA_VERSION = 3;

type TableDef = [name: string, columns: string, indexes: { name: string; columns: string[] }[]];

/** The tables of version 1, as the first release created them. */
function version1(t: SqlDialect['types']): TableDef[] {
  const name = t.key(100);
  const stamp = t.key(40);
  return [
    // position of the last extracted row per flow, and the next envelope sequence number
    ['dxg_checkpoint', `flow ${name} NOT NULL PRIMARY KEY, position ${t.text}, next_sequence ${t.bigint} NOT NULL, updated_at ${stamp} NOT NULL`, []],
    // envelopes committed with their page, waiting for the broker's confirm
    ['dxg_outbox', `message_id ${name} NOT NULL PRIMARY KEY, flow ${name} NOT NULL, kind ${t.key(20)} NOT NULL,
      exchange_name ${t.key(200)} NOT NULL, routing_key ${t.key(200)} NOT NULL, headers ${t.text} NOT NULL, body ${t.blob} NOT NULL,
      content_encoding ${t.key(20)}, to_dept ${name} NOT NULL, created_at ${stamp} NOT NULL`, [{ name: 'dxg_outbox_flow', columns: ['flow'] }]],
    // messages applied here, written in the transaction that applied them
    ['dxg_inbox', `message_id ${name} NOT NULL PRIMARY KEY, flow ${name} NOT NULL, from_dept ${name} NOT NULL, applied_at ${stamp} NOT NULL`, []],
    // the version each target record holds, so an older one never overwrites it
    ['dxg_versions', `flow ${name} NOT NULL, record_key ${t.key(256)} NOT NULL, version ${t.bigint} NOT NULL, deleted ${t.bool} NOT NULL, PRIMARY KEY (flow, record_key)`, []],
    // records and messages set aside, with the reason
    ['dxg_quarantine', `id ${t.serial} PRIMARY KEY, at ${stamp} NOT NULL, stage ${t.key(20)} NOT NULL, flow ${name}, from_dept ${name}, to_dept ${name},
      message_id ${name}, record_key ${t.key(256)}, version ${t.bigint}, reason ${t.text} NOT NULL, record ${t.text}, headers ${t.text}, body ${t.blob},
      status ${t.key(20)} NOT NULL, resolved_at ${stamp}`, [{ name: 'dxg_quarantine_flow', columns: ['flow', 'status'] }]],
    // receipts returned by the targets of this department's flows
    ['dxg_receipts', `message_id ${name} NOT NULL PRIMARY KEY, kind ${t.key(20)} NOT NULL, flow ${name} NOT NULL, to_dept ${name} NOT NULL, applied ${t.int} NOT NULL,
      rejected ${t.int} NOT NULL, superseded ${t.int} NOT NULL, received_at ${stamp} NOT NULL, detail ${t.text}`, [{ name: 'dxg_receipts_flow', columns: ['flow'] }]],
    // the keys a reconciliation run found at the source, staged at the target until its last part
    ['dxg_reconcile', `flow ${name} NOT NULL, run_id ${t.key(40)} NOT NULL, record_key ${t.key(256)} NOT NULL, PRIMARY KEY (flow, run_id, record_key)`, []],
    // the audit ledger: append-only, each entry chained to the previous by hash and signed
    ['dxg_ledger', `seq ${t.bigint} NOT NULL PRIMARY KEY, at ${stamp} NOT NULL, kind ${t.key(20)} NOT NULL, flow ${name}, message_id ${name},
      from_dept ${name}, to_dept ${name}, record_count ${t.int} NOT NULL, digest ${t.key(64)}, record_keys ${t.text}, detail ${t.text},
      prev_hash ${t.key(64)} NOT NULL, hash ${t.key(64)} NOT NULL, signature ${t.key(128)} NOT NULL`,
      [{ name: 'dxg_ledger_flow', columns: ['flow'] }, { name: 'dxg_ledger_at', columns: ['at'] }, { name: 'dxg_ledger_message', columns: ['message_id'] }]],
    // the chain's head: one row, locked by every append so entries chain in commit order
    ['dxg_ledger_head', `id ${t.int} NOT NULL PRIMARY KEY, seq ${t.bigint} NOT NULL, hash ${t.key(64)} NOT NULL`, []],
  ];
}

/** Upgrades to each version after 1: `UPGRADES[v - 2]` takes version v - 1 to v. Each step is safe to run again. */
const UPGRADES: { version: number; does: string; run(db: Database): Promise<void> }[] = [
  {
    version: 2,
    does: 'the schema version table',
    run: (db) => createTables(db, [['dxg_schema', `id ${db.sql.types.int} NOT NULL PRIMARY KEY, version ${db.sql.types.int} NOT NULL, upgraded_at ${db.sql.types.key(40)} NOT NULL`, []]]),
  },
  {
    version: 3,
    does: 'ledger entries name their algorithms; the ledger heads seen of other departments (anchors)',
    async run(db) {
      const t = db.sql.types;
      await addColumn(db, 'dxg_ledger', 'algorithm', t.key(40));
      // the highest entry of each other department's ledger this one has seen, from envelopes and receipts
      await createTables(db, [['dxg_anchors', `department ${t.key(100)} NOT NULL PRIMARY KEY, seq ${t.bigint} NOT NULL, hash ${t.key(64)} NOT NULL,
        seen_at ${t.key(40)} NOT NULL`, []]]);
    },
  },
];

/** Adds a nullable column unless the table has it (not every engine has ADD COLUMN IF NOT EXISTS). */
async function addColumn(db: Database, table: string, column: string, type: string): Promise<void> {
  if ((await db.catalog.describeTable(table))?.columns.has(column)) return;
  await db.execute(sql`ALTER TABLE ${sql.id(table)} ADD ${sql.id(column)} ${sql.raw(type)}`);
}

async function createTables(db: Database, tables: TableDef[]): Promise<void> {
  for (const [table, columns, indexes] of tables) {
    for (const statement of db.sql.createTable(table, columns.replace(/\s+/g, ' '), indexes)) await db.execute(statement);
  }
}

/** The version the department database holds: 0 when it has no bookkeeping yet, 1 for the first release's tables. */
export async function schemaVersion(db: Database): Promise<number> {
  if (await db.catalog.describeTable('dxg_schema')) {
    const [row] = await db.query<{ version: number | string }>(sql`SELECT version FROM dxg_schema WHERE id = 1`);
    if (row) return Number(row.version);
  }
  return (await db.catalog.describeTable('dxg_checkpoint')) ? 1 : 0;
}

export interface BookkeepingReport {
  /** the version found (0: none) */
  from: number;
  to: number;
  /** what each upgrade step did */
  upgrades: string[];
}

/**
 * Creates the bookkeeping tables, or upgrades older ones in place. Refuses tables newer than this
 * release knows, before touching anything.
 */
export async function createBookkeeping(db: Database, department = 'database'): Promise<BookkeepingReport> {
  const from = await schemaVersion(db);
  if (from > SCHEMA_VERSION) throw newerSchema(from, department);
  const report: BookkeepingReport = { from, to: SCHEMA_VERSION, upgrades: [] };
  if (from === 0) await createTables(db, version1(db.sql.types));
  for (const step of UPGRADES) {
    if (step.version <= Math.max(from, 1)) continue;
    await step.run(db);
    if (from > 0) report.upgrades.push(`${step.version}: ${step.does}`);
  }
  if (from < SCHEMA_VERSION) await recordVersion(db);
  const [head] = await db.query<{ n: number | string }>(sql`SELECT count(*) AS n FROM dxg_ledger_head`);
  if (Number(head.n) === 0) {
    try {
      await db.execute(sql`INSERT INTO dxg_ledger_head (id, seq, hash) VALUES (1, 0, ${GENESIS})`);
    } catch (err) {
      if (!db.sql.isUniqueViolation(err)) throw err; // another node initialised it at the same moment
    }
  }
  return report;
}

async function recordVersion(db: Database): Promise<void> {
  const at = new Date().toISOString();
  if ((await db.execute(sql`UPDATE dxg_schema SET version = ${SCHEMA_VERSION}, upgraded_at = ${at} WHERE id = 1`)) === 1) return;
  try {
    await db.execute(sql`INSERT INTO dxg_schema (id, version, upgraded_at) VALUES (1, ${SCHEMA_VERSION}, ${at})`);
  } catch (err) {
    if (!db.sql.isUniqueViolation(err)) throw err;
  }
}

/** A node runs only on the bookkeeping version it was written for. */
export async function requireBookkeeping(db: Database, department: string): Promise<void> {
  const version = await schemaVersion(db);
  if (version === 0) throw new DxgError('DXG_CATALOG', `the gateway's tables are missing in the database (run: dxg init)`, `department ${department}`);
  if (version > SCHEMA_VERSION) throw newerSchema(version, department);
  if (version < SCHEMA_VERSION) {
    throw new DxgError('DXG_CATALOG', `the gateway's tables are at schema version ${version}, this dxg needs ${SCHEMA_VERSION} (run: dxg init, which upgrades them in place)`, `department ${department}`);
  }
}

const newerSchema = (version: number, department: string) =>
  new DxgError('DXG_CATALOG', `the gateway's tables are at schema version ${version}, newer than this dxg knows (${SCHEMA_VERSION}); run a dxg release that knows version ${version}`, `department ${department}`);

export const GENESIS = '0'.repeat(64);
