import { sql } from '../../adapters/sql';
import { waitFor } from '../helpers/broker';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { everySecond, insertItems, itemExchange, validItems, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';

/**
 * Two processes of one department append to its ledger — `dxg run --once --full` beside `dxg up` —
 * and both send heartbeats: the centre must not take the one that reports a head the other has
 * already passed for a ledger cut short.
 */
describe('the centre and two processes of one department', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let base: string;

  beforeAll(async () => {
    x = await itemExchange('chd', { flow: everySecond });
    centreDb = await createTestDatabase('postgres', 'chdcentre');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    x.ex.addCentre({ databaseUrl: centreDb.url, port });
    await x.ex.setUp();
  });

  afterAll(async () => {
    await x?.destroy();
    await centreDb?.drop();
  });

  it('raises no ledger-break alarm for intact ledgers', async () => {
    const centre = x.ex.centre();
    const nodes = x.ex.up();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      await insertItems(x.src, validItems(60));
      // the receipts go to either process's node: this one does not wait for them all
      for (let i = 0; i < 3; i++) expect([0, 2]).toContain((await x.ex.dxg('run', '--once', '--full', '--flow', 'items', '--timeout', '3')).code);
      const [head] = await x.src.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`);
      await waitFor('the centre holding src\'s ledger to its head', async () => (await centreDb.query<{ contiguous: string }>(sql`SELECT contiguous FROM centre_departments WHERE department = 'src'`))[0]?.contiguous === String(head.seq), 60_000);
      // a few more heartbeats of both kinds have come by now
      await new Promise((r) => setTimeout(r, 3000));
      const alarms = await centreDb.query<{ kind: string; reason: string }>(sql`SELECT kind, reason FROM centre_alarms WHERE kind = 'ledger-break'`);
      expect(alarms).toEqual([]);
    } finally {
      await Promise.all([nodes.stop(), centre.stop()]);
    }
  }, 180_000);
});
