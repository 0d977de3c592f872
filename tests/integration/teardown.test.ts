/**
 * Taking an exchange off the broker: `dxg init` names the queues a retired flow left behind (with
 * what they hold), `dxg teardown --stale` removes only those, `dxg teardown` everything of the
 * exchange; each lists before it removes, and removes only with --yes.
 */
import amqp from 'amqplib';
import { BrokerAdmin } from '../../gateway/broker/admin';
import { loadProject } from '../../gateway/config/project';
import { Topology } from '../../gateway/broker/topology';
import { createPostgres, type TestDatabase } from '../helpers/databases';
import { BROKER_URL, TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, validItems } from '../helpers/items';

describe('dxg teardown', () => {
  let dbs: TestDatabase[] = [];
  let ex: TestExchange;
  afterAll(async () => {
    await ex?.destroy();
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('finds what a retired flow left on the broker, removes it alone, then the whole exchange, each only with --yes', async () => {
    const [src, full, part] = await Promise.all([createPostgres('tsrc'), createPostgres('tfull'), createPostgres('tpart')]);
    dbs = [src, full, part];
    await createSource(src);
    await createTargets(full, part);
    ex = new TestExchange({ src: { driver: 'postgres', url: src.url }, full: { driver: 'postgres', url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: itemFlow('src', 'full', 'part') }, { 'test.item': ITEM_SET });
    await ex.setUp();
    await insertItems(src, validItems(20));
    await ex.ok('run', '--once');
    const { config } = loadProject(ex.config).project!;
    const topology = Topology.of(config);
    const admin = BrokerAdmin.of(config.broker);
    const onBroker = async () => (await admin.listQueues(`${topology.prefix}.`)).map((q) => q.name).sort();

    // a flow taken out of the config leaves its queue, bound to its source and holding what was not yet applied;
    // an exchange named like this one and more ('<name>.b') has queues under the same prefix, which are not this one's
    const retired = topology.flowQueue('full', 'retired');
    const neighbour = Topology.of({ ...config, exchange: `${config.exchange}.b` });
    const theirs = neighbour.receiptQueue('src');
    const conn = await amqp.connect(BROKER_URL);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue(retired, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(retired, topology.recordsExchange('src'), topology.flowRoute('full', 'retired'));
      ch.sendToQueue(retired, Buffer.from('{}'), { persistent: true });
      await ch.assertExchange(neighbour.receiptsExchange('full'), 'direct', { durable: true });
      await ch.assertQueue(theirs, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(theirs, neighbour.receiptsExchange('full'), 'src');
      ch.sendToQueue(theirs, Buffer.from('{}'), { persistent: true });
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    expect(theirs.startsWith(`${topology.prefix}.`)).toBe(true);
    const declared = (await onBroker()).filter((q) => q !== retired && q !== theirs);
    const init = await ex.ok('init');
    expect(init).toContain(`stale: queue ${retired} (1 message) serves no flow of this config any more`);
    expect(init).not.toContain(theirs);

    const listed = await ex.ok('teardown', '--stale');
    expect(listed).toContain(`would remove queue    ${retired} (1 message)`);
    expect(listed).toContain('run again with --yes');
    expect(await onBroker()).toContain(retired);
    expect(listed).not.toContain(theirs);
    expect(await ex.ok('teardown', '--stale', '--yes')).toContain('removed 1 part of the queues');
    expect(await onBroker()).toEqual([...declared, theirs].sort());
    expect(await ex.ok('teardown', '--stale')).toContain('no stale queues');

    const all = await ex.ok('teardown');
    for (const q of declared) expect(all).toContain(`would remove queue    ${q}`);
    expect(all).toContain(`would remove user     ${topology.user('src')}`);
    expect(all).not.toContain(theirs);
    expect(await onBroker()).toEqual([...declared, theirs].sort());
    await ex.ok('teardown', '--yes');
    // the neighbour's queue is still there, with its message
    expect(await onBroker()).toEqual([theirs]);
    await admin.deleteQueue(theirs);
    await admin.deleteExchange(neighbour.receiptsExchange('full'));
    // the department users are gone from the broker
    const user = async (name: string) => (await fetch(`http://127.0.0.1:15672/api/users/${encodeURIComponent(name)}`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    })).status;
    expect(await user(topology.user('src'))).toBe(404);
    expect(await user('guest')).toBe(200);
    // the databases are left as they were: the ledger and the rows delivered are still there
    expect(Number((await src.run('SELECT count(*) AS n FROM dxg_ledger'))[0].n)).toBeGreaterThan(0);
    expect(Number((await full.run('SELECT count(*) AS n FROM t_full'))[0].n)).toBe(20);
  });
});
