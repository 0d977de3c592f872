import { spawn } from 'node:child_process';
import type { Database, Tx } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { waitFor } from '../helpers/broker';
import { createMysql, createPostgres, TestDatabase } from '../helpers/databases';
import { DXG, TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

// a schedule that does not fire during the test: only the notification can start a cycle
const notifying = (flow: string) => flow.replace('  watermark: updated_at\n', '  watermark: updated_at\n  schedule: "0 0 0 1 1 *"\n  notify: true\n');

/** Runs `first` in a transaction and leaves it open; the function returned commits it. */
async function begin(db: Database, first: (tx: Tx) => Promise<void>): Promise<() => Promise<void>> {
  let begun!: () => void;
  let commit!: () => void;
  const started = new Promise<void>((resolve) => (begun = resolve));
  const done = db.transaction(async (tx) => {
    await first(tx);
    begun();
    await new Promise<void>((resolve) => (commit = resolve));
  });
  await Promise.race([started, done]);
  return async () => {
    commit();
    await done;
  };
}

describe('change notification', () => {
  let dbs: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('wakes a PostgreSQL source node on a commit, with no help from the schedule', async () => {
    const [src, full, part] = await Promise.all([createPostgres('nsrc'), createPostgres('nfull'), createPostgres('npart')]);
    dbs.push(src, full, part);
    await createSource(src);
    await createTargets(full, part);
    const ex = new TestExchange(
      { src: { driver: 'postgres', url: src.url }, full: { driver: 'postgres', url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: notifying(itemFlow('src', 'full', 'part')) }, { 'test.item': ITEM_SET });
    await ex.setUp();
    const triggers = await src.query<{ tgname: string }>(sql`SELECT tgname FROM pg_trigger WHERE tgrelid = 'src_item'::regclass AND NOT tgisinternal ORDER BY 1`);
    expect(triggers.map((t) => t.tgname)).toEqual(['dxg_items_notify', 'touch']);

    const node = spawn(process.execPath, [DXG, '--config', ex.config, 'up'], { env: { ...process.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    node.stderr!.on('data', (d) => (log += d));
    try {
      const codes = async () => [...(await snapshot(full, 't_full')).keys()].sort();
      const arrived = (n: number) => waitFor(`${n} records to arrive`, async () => ((await codes()).length === n ? codes() : undefined), 30_000);
      await waitFor('the nodes to start', async () => log.includes('nodes up'), 30_000);
      // at once: this write races the cycle that the node's first notification started
      await insertItems(src, validItems(3));
      expect(await arrived(3)).toEqual(['AB0000', 'AB0001', 'AB0002']);

      // a writer stamps AB0005 and stays open until the settle margin has passed: its row lies below the
      // horizon of any transaction begun after that
      let stamped = '';
      const commitWriter = await begin(src.db, async (tx) => {
        await insertItems(tx, validItems(1, 5));
        [{ stamped }] = await tx.query<{ stamped: string }>(sql`SELECT now()::text AS stamped`);
      });
      const margin = `${src.db.changes.settleMs} milliseconds`;
      await waitFor('the settle margin to pass', async () =>
        (await src.query<{ past: boolean }>(sql`SELECT clock_timestamp() > ${stamped}::timestamptz + ${margin}::interval AS past`))[0].past);

      // an open transaction holds the horizon below the next writes: no woken cycle can take them yet,
      // and nothing but the node itself will look again once the transaction ends (it writes nothing, so it notifies nothing)
      await src.db.transaction(async () => {
        await insertItems(src, validItems(2, 3));
        // the writer's commit wakes a cycle that finds AB0003 and AB0004 committed: once AB0005 arrives, they would have too
        await commitWriter();
        await waitFor('the writer\'s record to arrive', async () => (await codes()).includes('AB0005'), 30_000);
        expect(await codes()).toEqual(['AB0000', 'AB0001', 'AB0002', 'AB0005']); // held back, not lost
      });
      expect(await arrived(6)).toEqual(['AB0000', 'AB0001', 'AB0002', 'AB0003', 'AB0004', 'AB0005']);
    } finally {
      node.kill('SIGTERM');
      await new Promise((r) => node.on('exit', r));
      await ex.destroy();
    }
  });

  it('is refused, at its line, for an engine without notifications', async () => {
    const [src, full, part] = await Promise.all([createMysql('nmsrc'), createPostgres('nmfull'), createPostgres('nmpart')]);
    dbs.push(src, full, part);
    await createSource(src);
    await createTargets(full, part);
    const ex = new TestExchange(
      { src: { driver: 'mysql', url: src.url }, full: { driver: 'postgres', url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: notifying(itemFlow('src', 'full', 'part')) }, { 'test.item': ITEM_SET });
    try {
      await ex.ok('keys', 'generate');
      const r = await ex.dxg('init');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/flows\/items\.yaml:10:11: mysql has no change notification; remove notify/);
    } finally {
      await ex.destroy();
    }
  });
});
