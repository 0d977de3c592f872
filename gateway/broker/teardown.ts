import type { ExchangeConfig, Flow } from '../config/model';
import { BrokerAdmin } from './admin';
import { routesOf, Topology } from './topology';

/**
 * Takes an exchange off the broker: its queues (with what they hold), its exchanges (the first
 * release's shared ones too) and its department users. For throw-away exchanges: tests, benchmarks.
 */
export async function removeFromBroker(config: ExchangeConfig, flows: readonly Flow[]): Promise<void> {
  const topology = Topology.of(config);
  const admin = BrokerAdmin.of(config.broker);
  const departments = [...config.departments.keys()];
  for (const q of topology.queues(departments, routesOf(flows))) await admin.deleteQueue(q);
  for (const x of topology.exchanges(departments)) await admin.deleteExchange(x);
  for (const d of departments) await admin.deleteUser(topology.user(d));
  if (topology.withCentre) {
    await admin.deleteQueue(topology.centreQueue);
    await admin.deleteUser(topology.centreUser);
  }
}
