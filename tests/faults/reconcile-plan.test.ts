import { randomUUID } from 'node:crypto';
import type { Database } from '../../adapters/adapter';
import { connect } from '../../adapters';
import { createBookkeeping } from '../../gateway/bookkeeping/schema';
import type { TargetBinding } from '../../gateway/flow/binding';
import { applyKeyset } from '../../gateway/flow/reconcile';
import { createMysql, createPostgres, type TestDatabase } from '../helpers/databases';

/**
 * The smallest form of case 5's hang: the closing part of a key reconciliation at a target holding
 * 100,000 records of the flow (all still at the source but ten). Right after a load (no planner
 * statistics yet) it must still take seconds, not minutes: the statement is given 20 s.
 */
const N = 100_000;

describe.each([['PostgreSQL', 'postgres'], ['MariaDB', 'mysql']] as const)('%s target: closing a key reconciliation', (_name, driver) => {
  let test: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    test = driver === 'postgres' ? await createPostgres('recplan') : await createMysql('recplan');
    db = await connect({ driver, url: test.url, pool: 2 }, 'reconcile-plan');
    await createBookkeeping(db);
    await db.execute('CREATE TABLE t (uscc varchar(20) NOT NULL PRIMARY KEY)');
    const series = driver === 'postgres' ? `generate_series(1, ${N}) AS s(seq)` : `seq_1_to_${N}`;
    const key = driver === 'postgres' ? "'K' || seq" : "CONCAT('K', seq)";
    await db.execute(`INSERT INTO t (uscc) SELECT ${key} FROM ${series}`);
    await db.execute(`INSERT INTO dxg_versions (flow, record_key, version, deleted) SELECT 'registry', ${key}, 1, ${driver === 'postgres' ? 'false' : '0'} FROM ${series}`);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await test?.drop();
  });

  it(`finds the 10 hard-deleted keys among ${N} within 20 s`, async () => {
    const binding = { flow: { id: 'registry', source: { key: ['uscc'] } }, table: { table: 't', keyColumns: ['uscc'] } } as unknown as TargetBinding;
    const keys = Array.from({ length: N - 10 }, (_, i) => `K${i + 11}`);
    const meta = { kind: 'reconcile' as const, messageId: randomUUID(), flow: 'registry', resource: 'r', from: 'src', to: 'tgt', sequence: 0, count: keys.length };
    const applied = await db.transaction(async (tx) => {
      await tx.execute(driver === 'postgres' ? "SET LOCAL statement_timeout = '20s'" : 'SET SESSION max_statement_time = 20');
      return applyKeyset(tx, binding, meta, { run: randomUUID(), part: 0, last: true, below: '2', keys });
    });
    expect(applied.receipt?.applied).toBe(10);
  }, 120_000);
});
