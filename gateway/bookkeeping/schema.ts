import type { Database } from '../../adapters/adapter';

/**
 * The gateway's own tables in each department database, all prefixed `dxg_`. Business tables are
 * only ever read (source) or written at the targets a flow declares.
 */
export async function createBookkeeping(db: Database): Promise<void> {
  const { types: t, createTable } = db.sql;
  const name = t.key(100);
  const stamp = t.key(40);
  const tables: [string, string, { name: string; columns: string[] }[]][] = [
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
  for (const [table, columns, indexes] of tables) {
    for (const statement of createTable(table, columns.replace(/\s+/g, ' '), indexes)) await db.execute(statement);
  }
  const [head] = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM dxg_ledger_head');
  if (Number(head.n) === 0) {
    try {
      await db.execute('INSERT INTO dxg_ledger_head (id, seq, hash) VALUES (1, 0, ?)', [GENESIS]);
    } catch (err) {
      if (!db.sql.isUniqueViolation(err)) throw err; // another node initialised it at the same moment
    }
  }
}

export const GENESIS = '0'.repeat(64);

export const now = (): string => new Date().toISOString();
