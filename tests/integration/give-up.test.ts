import { sql } from '../../adapters/sql';
import { waitFor } from '../helpers/broker';
import { everySecond, insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/**
 * A message the target's database refuses for a reason that is not its data (here a trigger raising
 * an error of its own) while the database answers: it is tried a bounded number of times, handed
 * back to the broker, dead-lettered by it after the delivery limit, and stored with the reason;
 * it never holds the flow up.
 */
describe('a message that can never be applied', () => {
  let x: ItemExchange;
  let node: { stop(): Promise<void> };

  beforeAll(async () => {
    x = await itemExchange('gu', { flow: everySecond });
    await x.full.run(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.title = 'refused' THEN RAISE EXCEPTION 'the archive is read-only today' USING ERRCODE = 'P0001'; END IF; RETURN NEW; END $$`);
    await x.full.run('CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON t_full FOR EACH ROW EXECUTE FUNCTION refuse()');
    x.ex.setBroker('delivery_limit', 2);
    await x.ex.setUp();
    node = x.ex.up('error');
  });

  afterAll(async () => {
    await node?.stop();
    await x?.destroy();
  });

  it('is given up, dead-lettered with the reason, and the flow goes on', async () => {
    const [refused] = validItems(1);
    await insertItems(x.src, [{ ...refused, title: 'refused' }]);
    const stored = await waitFor('the message to be dead-lettered', async () =>
      (await x.full.query<{ reason: string; message_id: string }>(sql`SELECT reason, message_id FROM dxg_quarantine WHERE stage = 'dead-letter'`))[0], 120_000);
    expect(stored.reason).toMatch(/delivery limit reached \(2 deliveries\)/);
    const ledger = await x.full.query<{ kind: string }>(sql`SELECT kind FROM dxg_ledger WHERE message_id = ${stored.message_id} ORDER BY seq`);
    expect(ledger.map((e) => e.kind)).toEqual(['dead-letter']);

    await insertItems(x.src, validItems(2, 1));
    await waitFor('the records after it', async () => (await snapshot(x.full, 't_full')).size === 2, 60_000);
    expect([...(await snapshot(x.full, 't_full')).keys()].sort()).toEqual(['AB0001', 'AB0002']);
  });
});
