import { randomUUID } from 'node:crypto';
import { sql } from '../../adapters/sql';
import { createBookkeeping } from '../../gateway/bookkeeping/schema';
import type { TargetBinding } from '../../gateway/flow/binding';
import { applyKeyset } from '../../gateway/flow/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';

/**
 * The smallest form of case 5's hang: the closing part of a key reconciliation at a target holding
 * 100,000 records of the flow (all still at the source but ten). Right after a load (no planner
 * statistics yet) it must still take seconds, not minutes: the statement is given 20 s.
 */
const N = 100_000;

describe.each([['PostgreSQL', 'postgres'], ['MariaDB', 'mysql']] as const)('%s target: closing a key reconciliation', (_name, driver) => {
  let test: TestDatabase;

  beforeAll(async () => {
    test = await createTestDatabase(driver, 'recplan');
    await createBookkeeping(test.db);
    await test.run('CREATE TABLE t (uscc varchar(20) NOT NULL PRIMARY KEY)');
    const series = sql.raw(driver === 'postgres' ? `generate_series(1, ${N}) AS s(seq)` : `seq_1_to_${N}`);
    const key = sql.raw(driver === 'postgres' ? "'K' || seq" : "CONCAT('K', seq)");
    await test.execute(sql`INSERT INTO t (uscc) SELECT ${key} FROM ${series}`);
    await test.execute(sql`INSERT INTO dxg_versions (flow, record_key, version, deleted) SELECT 'registry', ${key}, 1, false FROM ${series}`);
  }, 120_000);

  afterAll(async () => {
    await test?.drop();
  });

  it(`finds the 10 hard-deleted keys among ${N} within 20 s`, async () => {
    const binding = { flow: { id: 'registry', source: { key: ['uscc'] } }, table: { table: 't', keyColumns: ['uscc'] } } as unknown as TargetBinding;
    const keys = Array.from({ length: N - 10 }, (_, i) => `K${i + 11}`);
    const meta = { kind: 'reconcile' as const, messageId: randomUUID(), flow: 'registry', resource: 'r', from: 'src', to: 'tgt', sequence: 0, count: keys.length };
    const applied = await test.db.transaction(async (tx) => {
      await tx.execute(sql.raw(driver === 'postgres' ? "SET LOCAL statement_timeout = '20s'" : 'SET SESSION max_statement_time = 20'));
      return applyKeyset(tx, binding, meta, { run: randomUUID(), part: 0, last: true, below: '2', keys });
    });
    expect(applied.receipt?.applied).toBe(10);
  }, 120_000);
});
