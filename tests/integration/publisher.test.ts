import { Broker } from '../../gateway/broker/connection';
import { Publisher } from '../../gateway/broker/publisher';
import { sleep } from '../../gateway/time';
import { waitFor } from '../helpers/broker';
import { BROKER_URL } from '../helpers/exchange';

const api = new URL(BROKER_URL);
const authorization = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString('base64')}`;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`http://${api.hostname}:15672${path}`, { headers: { authorization } });
  if (!res.ok) throw new Error(`management API: ${path} answers ${res.status}`);
  return (await res.json()) as T;
}

/** The numbers of the channels the broker lists for the connection named `name` (clientProperties.connection_name). */
async function channelsOf(name: string): Promise<number[]> {
  const connections = await get<{ name: string; client_properties?: { connection_name?: string } }[]>('/api/connections');
  const conn = connections.find((c) => c.client_properties?.connection_name === name);
  if (!conn) return [];
  const channels = await get<{ number: number }[]>(`/api/connections/${encodeURIComponent(conn.name)}/channels`);
  return channels.map((c) => c.number).sort();
}

/**
 * A channel that was nacked is not used again: RabbitMQ 3.10 may go on nacking every publish of that
 * channel to a quorum queue whose leader's node died as the channel first published there, which
 * takes a cluster to show (tests/faults/cluster.test.ts). Here a full queue that rejects publishes
 * gives the nack; the publisher then goes on with a fresh channel and closes the old one.
 */
describe('Publisher after a nack', () => {
  const label = `publisher-test ${process.pid}`;
  const name = `dxgt.nack.${process.pid}.${Date.now()}`;
  let broker: Broker;
  let publisher: Publisher;

  beforeAll(async () => {
    broker = await Broker.connect(BROKER_URL, label);
    await broker.withChannel(async (ch) => {
      await ch.assertExchange(name, 'direct', { durable: false, autoDelete: false });
      await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
      await ch.bindQueue(name, name, 'k');
    });
    publisher = new Publisher(broker, api.username);
    await publisher.start();
  });

  afterAll(async () => {
    await publisher?.stop();
    await broker?.withChannel(async (ch) => {
      await ch.deleteQueue(name);
      await ch.deleteExchange(name);
    }).catch(() => undefined);
    await broker?.close();
  });

  it('publishes on a fresh channel, and the nacked one is closed', async () => {
    const send = (id: string) => publisher.publish(name, 'k', Buffer.from(id), { messageId: id });
    await send('first');
    const [before] = await waitFor('the publish channel listed', async () => {
      const numbers = await channelsOf(`dxg ${label}`);
      return numbers.length === 1 && numbers;
    }, 15_000);

    await sleep(1100); // a channel younger than a second is kept (publisher.ts)
    // the queue tells its publishers it is full once a message is over its length
    let nacked: Error | undefined;
    for (let i = 0; !nacked && i < 10; i++) nacked = await send(`fill ${i}`).then(() => undefined, (err: Error) => err);
    expect(nacked?.message).toMatch(/nacked/);
    await broker.withChannel((ch) => ch.purgeQueue(name));
    await send('third');

    const after = await waitFor('one publish channel, another than before', async () => {
      const numbers = await channelsOf(`dxg ${label}`);
      return numbers.length === 1 && numbers[0] !== before && numbers;
    }, 15_000);
    expect(after).toHaveLength(1);
  });

  it('goes on publishing after the broker closed its channel over an exchange that is not there', async () => {
    const err = await publisher.publish(`${name}.missing`, 'k', Buffer.from('x'), { messageId: 'lost' }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/closed|NOT_FOUND/);
    await broker.withChannel((ch) => ch.purgeQueue(name));
    // the connection stays; a new channel takes the next publish
    await publisher.publish(name, 'k', Buffer.from('after'), { messageId: 'after' });
    const got = await broker.withChannel((ch) => ch.get(name, { noAck: true }));
    expect(got && got.content.toString()).toBe('after');
  });
});
