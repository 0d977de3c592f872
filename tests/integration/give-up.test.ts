import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { sql } from '../../adapters/sql';
import { waitFor } from '../helpers/broker';
import { createPostgres, type TestDatabase } from '../helpers/databases';
import { DXG, TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

/**
 * A message the target's database refuses for a reason that is not its data (here a trigger raising
 * an error of its own) while the database answers: it is tried a bounded number of times, handed
 * back to the broker, dead-lettered by it after the delivery limit, and stored with the reason;
 * it never holds the flow up.
 */
describe('a message that can never be applied', () => {
  const dbs: TestDatabase[] = [];
  let ex: TestExchange;
  let src: TestDatabase;
  let full: TestDatabase;
  let node: ChildProcess;

  beforeAll(async () => {
    [src, full] = await Promise.all([createPostgres('gusrc'), createPostgres('gufull')]);
    const part = await createPostgres('gupart');
    dbs.push(src, full, part);
    await createSource(src);
    await createTargets(full, part);
    await full.run(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.title = 'refused' THEN RAISE EXCEPTION 'the archive is read-only today' USING ERRCODE = 'P0001'; END IF; RETURN NEW; END $$`);
    await full.run('CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON t_full FOR EACH ROW EXECUTE FUNCTION refuse()');
    const flow = itemFlow('src', 'full', 'part').replace('  watermark: updated_at\n', '  watermark: updated_at\n  schedule: "* * * * * *"\n');
    ex = new TestExchange({ src: { driver: 'postgres', url: src.url }, full: { driver: 'postgres', url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: flow }, { 'test.item': ITEM_SET });
    writeFileSync(ex.config, readFileSync(ex.config, 'utf8').replace(/(  url: amqp[^\n]*\n)/, '$1  delivery_limit: 2\n'));
    await ex.setUp();
    node = spawn(process.execPath, [DXG, '--config', ex.config, 'up'], { env: { ...process.env, DXG_LOG_LEVEL: 'error' }, stdio: 'ignore' });
  });

  afterAll(async () => {
    node?.kill('SIGTERM');
    if (node) await new Promise((r) => node.on('exit', r));
    await ex?.destroy();
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('is given up, dead-lettered with the reason, and the flow goes on', async () => {
    const [refused] = validItems(1);
    await insertItems(src, [{ ...refused, title: 'refused' }]);
    const stored = await waitFor('the message to be dead-lettered', async () =>
      (await full.query<{ reason: string; message_id: string }>(sql`SELECT reason, message_id FROM dxg_quarantine WHERE stage = 'dead-letter'`))[0], 120_000);
    expect(stored.reason).toMatch(/delivery limit reached \(2 deliveries\)/);
    const ledger = await full.query<{ kind: string }>(sql`SELECT kind FROM dxg_ledger WHERE message_id = ${stored.message_id} ORDER BY seq`);
    expect(ledger.map((e) => e.kind)).toEqual(['dead-letter']);

    await insertItems(src, validItems(2, 1));
    await waitFor('the records after it', async () => (await snapshot(full, 't_full')).size === 2, 60_000);
    expect([...(await snapshot(full, 't_full')).keys()].sort()).toEqual(['AB0001', 'AB0002']);
  });
});
