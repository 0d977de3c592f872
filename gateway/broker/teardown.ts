import type { ExchangeConfig, Flow } from '../config/model';
import { BrokerAdmin } from './admin';
import { Broker } from './connection';
import { routesOf, Topology } from './topology';

export interface BrokerPart {
  kind: 'queue' | 'exchange' | 'user';
  name: string;
  /** a queue's messages, lost with it */
  messages?: number;
}

/**
 * The exchange's queues on the broker that nothing of the config uses any more: of a flow, a target
 * or a department taken out of it. `dxg init` declares what the config needs and never deletes, so
 * these stay (with what they hold) until `dxg teardown --stale` takes them off.
 */
export async function staleQueues(config: ExchangeConfig, flows: readonly Flow[], admin = BrokerAdmin.of(config.broker)): Promise<BrokerPart[]> {
  const topology = Topology.of(config);
  const wanted = new Set(topology.queues(config.departments.keys(), routesOf(flows)));
  if (topology.withCentre) wanted.add(topology.centreQueue);
  const stale = (await admin.listQueues(`${topology.prefix}.`)).map((q) => q.name).filter((q) => !wanted.has(q));
  return (await withMessages(config, stale)).map((q) => ({ kind: 'queue', ...q }));
}

/**
 * The messages each queue holds now, asked of the queue itself: the management API's counts are
 * statistics, seconds old, and a message published a moment ago would be lost uncounted.
 */
async function withMessages(config: ExchangeConfig, queues: string[]): Promise<{ name: string; messages: number }[]> {
  if (queues.length === 0) return [];
  const broker = await Broker.connect(config.broker.url, 'teardown', false, config.broker.ca);
  try {
    const counted: { name: string; messages: number }[] = [];
    // a queue deleted meanwhile closes the channel it was asked on: one channel each
    for (const name of queues) {
      const messages = await broker.withChannel(async (ch) => (await ch.checkQueue(name)).messageCount).catch(() => null);
      if (messages !== null) counted.push({ name, messages });
    }
    return counted;
  } finally {
    await broker.close();
  }
}

/**
 * Everything of the exchange on the broker: its queues (those the config declares and any left from
 * an earlier config), its exchanges (the first release's shared ones too) and its users.
 */
export async function brokerParts(config: ExchangeConfig, flows: readonly Flow[], admin = BrokerAdmin.of(config.broker), counted = true): Promise<BrokerPart[]> {
  const topology = Topology.of(config);
  const departments = [...config.departments.keys()];
  const found = new Set((await admin.listQueues(`${topology.prefix}.`)).map((q) => q.name));
  const queues = [...new Set([...topology.queues(departments, routesOf(flows)), ...(topology.withCentre ? [topology.centreQueue] : []), ...found])].filter((q) => found.has(q));
  return [
    ...(counted ? await withMessages(config, queues) : queues.map((name) => ({ name }))).map((q): BrokerPart => ({ kind: 'queue', ...q })),
    ...topology.exchanges(departments).map((name): BrokerPart => ({ kind: 'exchange', name })),
    ...[...departments.map((d) => topology.user(d)), ...(topology.withCentre ? [topology.centreUser] : [])].map((name): BrokerPart => ({ kind: 'user', name })),
  ];
}

/** Deletes the parts (each delete of something already gone is fine). */
export async function removeParts(config: ExchangeConfig, parts: readonly BrokerPart[], admin = BrokerAdmin.of(config.broker)): Promise<void> {
  for (const p of parts) {
    if (p.kind === 'queue') await admin.deleteQueue(p.name);
    else if (p.kind === 'exchange') await admin.deleteExchange(p.name);
    else await admin.deleteUser(p.name);
  }
}

/** Takes an exchange off the broker at once, uncounted: queues with what they hold, exchanges, users (tests, benchmarks). */
export async function removeFromBroker(config: ExchangeConfig, flows: readonly Flow[]): Promise<void> {
  const admin = BrokerAdmin.of(config.broker);
  await removeParts(config, await brokerParts(config, flows, admin, false), admin);
}
