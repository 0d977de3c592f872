import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { departmentBrokerUrl } from '../helpers/broker';
import type { TestDatabase } from '../helpers/databases';
import { BROKER_URL, type TestExchange } from '../helpers/exchange';
import { insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/**
 * Departments do not trust each other, nor anyone who can reach the broker: with one department's
 * broker credentials, another's queues can be neither read, taken, purged, deleted nor rebound, and
 * nothing can be published as another department. The exchange itself flows as before.
 */
describe('broker users per department', () => {
  let x: ItemExchange;
  let ex: TestExchange;
  let full: TestDatabase;
  let conn: ChannelModel;
  const q = (d: string, what: string) => `dxg.${ex.name}.${d}.${what}`;

  beforeAll(async () => {
    // a configuration written for the core: a guest broker.url, no broker.admin
    x = await itemExchange('bi');
    ({ ex, full } = x);
    await ex.ok('validate');
    await ex.setUp();
    await insertItems(x.src, validItems(5));
    conn = await amqp.connect(departmentBrokerUrl(ex, 'full'));
    conn.on('error', () => undefined);
  });

  afterAll(async () => {
    await conn?.close().catch(() => undefined);
    await x?.destroy();
  });

  /** What the broker answers one operation as department full, on a channel of its own (a refusal closes the channel). */
  const attempt = async (op: (ch: Channel) => Promise<unknown>): Promise<string> => {
    const ch = await conn.createConfirmChannel();
    const closed = new Promise<string>((resolve) => ch.on('error', (err: Error) => resolve(err.message)));
    let failed: string | null = null;
    try {
      await op(ch);
      await ch.waitForConfirms();
    } catch (err) {
      failed = (err as Error).message;
    }
    // the broker's reason arrives as the channel's error, at about the time the call fails
    const reason = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
    if (!reason && !failed) await ch.close().catch(() => undefined);
    return reason ?? failed ?? 'allowed';
  };

  it.each([
    ['consume', (ch: Channel, queue: string) => ch.consume(queue, () => undefined)],
    ['get', (ch: Channel, queue: string) => ch.get(queue)],
    ['purge', (ch: Channel, queue: string) => ch.purgeQueue(queue)],
    ['delete', (ch: Channel, queue: string) => ch.deleteQueue(queue)],
  ])('refuses to %s another department\'s queue', async (_what, op) => {
    for (const queue of [q('part', 'flow.items'), q('src', 'receipts'), q('src', 'dead')]) {
      expect(await attempt((ch) => op(ch, queue))).toMatch(/ACCESS_REFUSED/);
    }
  });

  it('refuses to bind another department\'s queue, or to declare any queue or exchange', async () => {
    expect(await attempt((ch) => ch.bindQueue(q('part', 'flow.items'), `dxg.${ex.name}.records.full`, 'part.items'))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt((ch) => ch.assertQueue(`dxg.${ex.name}.full.spy`, { durable: false }))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt((ch) => ch.assertExchange(`dxg.${ex.name}.records.fake`, 'direct'))).toMatch(/ACCESS_REFUSED/);
  });

  it('refuses to publish as another department', async () => {
    const message = { messageId: randomUUID(), persistent: true };
    // into the source's own exchange, straight to the other target's queue
    expect(await attempt(async (ch) => ch.publish(`dxg.${ex.name}.records.src`, 'part.items', Buffer.from('{}'), message))).toMatch(/ACCESS_REFUSED/);
    // with the source's name as user-id, through its own exchange
    expect(await attempt(async (ch) => ch.publish(`dxg.${ex.name}.receipts.full`, 'src', Buffer.from('{}'), { ...message, userId: `${ex.name}.src` }))).toMatch(/PRECONDITION_FAILED.*user_id/i);
    // on the audit feed under another department's routing key
    expect(await attempt(async (ch) => ch.publish(`dxg.${ex.name}.audit`, 'src.apply', Buffer.from('{}'), message))).toMatch(/ACCESS_REFUSED/);
    // nor into the default exchange, which reaches every queue by name
    expect(await attempt(async (ch) => ch.publish('', q('part', 'flow.items'), Buffer.from('{}'), message))).toMatch(/ACCESS_REFUSED/);
  });

  it('still reads its own queues, and the exchange flows end to end', async () => {
    expect(await attempt((ch) => ch.checkQueue(q('full', 'flow.items')))).toBe('allowed');
    await ex.ok('run', '--once');
    expect((await snapshot(full, 't_full')).size).toBe(5);
  });

  it('leaves the guest account to the operator: nodes log in as their department', async () => {
    const api = new URL(BROKER_URL);
    const res = await fetch(`http://127.0.0.1:15672/api/users/${encodeURIComponent(`${ex.name}.full`)}`, {
      headers: { authorization: `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString('base64')}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: `${ex.name}.full`, tags: [] });
  });
});
