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
 * The exchange's queues on the broker: those the config declares, and those left by an earlier
 * config (of a flow, a target or a department taken out of it; `dxg init` declares what the config
 * needs and never deletes). A queue left behind is the exchange's only if it is bound to one of the
 * exchange's own exchanges: another exchange whose name begins with this one's (`a.b` beside `a`)
 * has queues under the same prefix, and they are never touched.
 */
async function ownQueues(config: ExchangeConfig, flows: readonly Flow[], admin: BrokerAdmin): Promise<{ declared: string[]; stale: string[] }> {
  const topology = Topology.of(config);
  const departments = [...config.departments.keys()];
  const wanted = new Set(topology.queues(departments, routesOf(flows)));
  if (topology.withCentre) wanted.add(topology.centreQueue);
  const own = new Set(topology.exchanges(departments));
  const declared: string[] = [];
  const stale: string[] = [];
  for (const { name } of await admin.listQueues(`${topology.prefix}.`)) {
    if (wanted.has(name)) declared.push(name);
    else if ((await admin.queueSources(name)).some((s) => own.has(s))) stale.push(name);
  }
  return { declared, stale };
}

/** The queues no part of the config uses any more, with the messages each holds (see ownQueues). */
export async function staleQueues(config: ExchangeConfig, flows: readonly Flow[], admin = BrokerAdmin.of(config.broker)): Promise<BrokerPart[]> {
  const { stale } = await ownQueues(config, flows, admin);
  return (await withMessages(config, stale)).map((q) => ({ kind: 'queue', ...q }));
}

/**
 * The messages each queue holds now, asked of the queue itself: the management API's counts are
 * statistics, seconds old, and a message published a moment ago would be lost uncounted. A queue
 * deleted meanwhile is left out; any other failure stops the count (and so any removal after it).
 */
async function withMessages(config: ExchangeConfig, queues: string[]): Promise<{ name: string; messages: number }[]> {
  if (queues.length === 0) return [];
  const broker = await Broker.connect(config.broker.url, 'teardown', false, config.broker.ca);
  try {
    const counted: { name: string; messages: number }[] = [];
    // a queue that is gone closes the channel it was asked on: one channel each
    for (const name of queues) {
      const messages = await broker.withChannel(async (ch) => (await ch.checkQueue(name)).messageCount)
        .catch((err: { code?: number }) => {
          if (err.code === 404) return null;
          throw err;
        });
      if (messages !== null) counted.push({ name, messages });
    }
    return counted;
  } finally {
    await broker.close();
  }
}

/** Everything of the exchange on the broker: its queues (see ownQueues), its exchanges (the first release's shared ones too) and its users. */
export async function brokerParts(config: ExchangeConfig, flows: readonly Flow[], admin = BrokerAdmin.of(config.broker), counted = true): Promise<BrokerPart[]> {
  const topology = Topology.of(config);
  const departments = [...config.departments.keys()];
  const { declared, stale } = await ownQueues(config, flows, admin);
  const queues = [...declared, ...stale];
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
