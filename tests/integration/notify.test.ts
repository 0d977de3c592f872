import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { waitFor } from '../helpers/broker';
import { createMysql, createPostgres, TestDatabase } from '../helpers/databases';
import { DXG, TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

// a schedule that does not fire during the test: only the notification can start a cycle
const notifying = (flow: string) => flow.replace('  watermark: updated_at\n', '  watermark: updated_at\n  schedule: "0 0 0 1 1 *"\n  notify: true\n');

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
    const triggers = await src.query<{ tgname: string }>("SELECT tgname FROM pg_trigger WHERE tgrelid = 'src_item'::regclass AND NOT tgisinternal ORDER BY 1");
    expect(triggers.map((t) => t.tgname)).toEqual(['dxg_items_notify', 'touch']);

    const node = spawn(process.execPath, [DXG, '--config', ex.config, 'up'], { env: { ...process.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    node.stderr!.on('data', (d) => (log += d));
    try {
      const arrived = (n: number) => waitFor(`${n} records to arrive`, async () => ((await snapshot(full, 't_full')).size === n ? snapshot(full, 't_full') : undefined), 30_000);
      await waitFor('the nodes to start', async () => log.includes('nodes up'), 30_000);
      // at once: this write races the cycle that the node's first notification started
      await insertItems(src, validItems(3));
      const rows = await arrived(3);
      expect([...rows.keys()].sort()).toEqual(['AB0000', 'AB0001', 'AB0002']);

      // an open transaction holds the horizon below the next write: the woken cycle cannot take it yet,
      // and nothing but the node itself will look again once the transaction ends
      const blocker = new Client({ connectionString: src.url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT txid_current()');
        await insertItems(src, validItems(2, 3));
        await new Promise((r) => setTimeout(r, 1500));
        expect((await snapshot(full, 't_full')).size).toBe(3); // held back, not lost
        await blocker.query('COMMIT');
      } finally {
        await blocker.end();
      }
      expect([...(await arrived(5)).keys()].sort()).toEqual(['AB0000', 'AB0001', 'AB0002', 'AB0003', 'AB0004']);
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
