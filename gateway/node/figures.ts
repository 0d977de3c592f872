import type { Database } from '../../adapters/adapter';
import { loadCheckpoint } from '../bookkeeping/checkpoint';
import { outboxCount } from '../bookkeeping/outbox';
import { openQuarantineCounts, type Stage } from '../bookkeeping/quarantine';
import type { Broker } from '../broker/connection';
import type { Project } from '../config/project';
import type { Flow } from '../config/model';
import type { Extractor } from '../flow/extract';
import { flowCounts, type FlowCounts } from '../ledger/counts';
import type { Readiness } from './ready';

/** What a department's node sees of itself, for its metrics. */
export interface FigureSources {
  department: string;
  db: Database;
  project: Project;
  sends: Flow[];
  receives: Flow[];
  /** filled once the node is bound */
  extractors: ReadonlyMap<string, Extractor>;
  broker: Broker;
  /** the queues this department consumes, with the flow each carries ('' for receipts and dead letters) */
  queues: { queue: string; flow: string }[];
  readiness: Readiness;
}

/** The figures of one scrape, read from the department's own bookkeeping (and its own queues). */
export interface Figures {
  counts: FlowCounts[];
  outbox: { flow: string; envelopes: number }[];
  checkpoints: { flow: string; updatedAt: string | null; behind: number | null }[];
  quarantine: { stage: Stage; flow: string | null; items: number }[];
  queues: { queue: string; flow: string; messages: number }[];
}

const QUEUE_ANSWER_MS = 2000;

/**
 * Reads them the way `dxg status` does, with the same functions, so the numbers agree: a flow's
 * counts per target come from its source's ledger and receipts, which is why only the source
 * department's node reports them.
 */
export async function readFigures(s: FigureSources): Promise<Figures> {
  // alone in the map, the source's counts skip the comparison with each target's ledger (that is the centre's)
  const counts = await flowCounts({ ...s.project, flows: s.sends }, new Map([[s.department, s.db]]));
  const outbox = [];
  for (const flow of [...s.sends, ...s.receives]) outbox.push({ flow: flow.id, envelopes: await outboxCount(s.db, flow.id) });
  const checkpoints = [];
  for (const flow of s.sends) {
    const cp = await loadCheckpoint(s.db, flow.id);
    const extractor = s.extractors.get(flow.id);
    checkpoints.push({ flow: flow.id, updatedAt: cp.updatedAt, behind: extractor ? await extractor.heldBack(null) : null });
  }
  return { counts, outbox, checkpoints, quarantine: await openQuarantineCounts(s.db), queues: await queueDepths(s) };
}

/** Messages ready in the department's own queues; none while the broker is away (a check would wait for it). */
async function queueDepths(s: FigureSources): Promise<Figures['queues']> {
  if (!s.readiness.brokerConnected) return [];
  const out: Figures['queues'] = [];
  for (const { queue, flow } of s.queues) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), QUEUE_ANSWER_MS)));
    const messages = await Promise.race([s.broker.withChannel((ch) => ch.checkQueue(queue)).then((q) => q.messageCount, () => null), late]);
    clearTimeout(timer);
    if (messages !== null) out.push({ queue, flow, messages });
  }
  return out;
}
