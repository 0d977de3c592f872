import { listQuarantine, type QuarantineRow, type Stage } from '../bookkeeping/quarantine';
import { DxgError } from '../errors';
import type { DepartmentNode } from './node';

export interface ReplayFilter {
  flow?: string;
  department?: string;
  stage?: Stage;
  ids?: number[];
}

export interface ReplayReport {
  department: string;
  stage: Stage;
  flow: string;
  items: number;
  /** records sent again (source), applied (target) or messages put back on their queue (dead letters) */
  done: number;
  /** records quarantined or rejected again, or dead letters that could not be sent */
  again: number;
  notes: string[];
  /** receipts that tell the outcome at the targets: of the envelopes sent again, or of a replay at a target */
  awaiting: string[];
}

const PAGE = 10_000;

/**
 * Sends quarantined items again, each the way its stage allows: records set aside at a source go
 * through today's indicator set and code tables to the targets; records a target rejected are applied
 * there again; dead letters go back on their queue. The items are closed as replayed and the ledger
 * records the new attempt beside the first.
 */
export async function replay(running: Iterable<DepartmentNode>, filter: ReplayFilter, signal: AbortSignal): Promise<ReplayReport[]> {
  const nodes = [...running].filter((n) => !filter.department || n.department.id === filter.department);
  if (filter.department && nodes.length === 0) throw new DxgError('DXG_USAGE', `unknown department '${filter.department}'`);
  const reports: ReplayReport[] = [];
  for (const node of nodes) {
    const items = await listQuarantine(node.db, { flow: filter.flow, stage: filter.stage, ids: filter.ids, limit: PAGE });
    const groups = new Map<string, QuarantineRow[]>();
    for (const item of items) {
      const k = `${item.stage}\u0000${item.flow ?? ''}`;
      groups.set(k, [...(groups.get(k) ?? []), item]);
    }
    for (const group of groups.values()) reports.push(await replayGroup(node, group, signal));
  }
  return reports;
}

async function replayGroup(node: DepartmentNode, items: QuarantineRow[], signal: AbortSignal): Promise<ReplayReport> {
  const { stage, flow } = items[0];
  const report: ReplayReport = { department: node.department.id, stage, flow: flow ?? '?', items: items.length, done: 0, again: 0, notes: [], awaiting: [] };
  if (stage === 'dead-letter') {
    const r = await node.replayDeadLetters(items);
    report.done = r.sent.length;
    report.again = r.refused.length;
    report.notes = r.refused;
    return report;
  }
  const extractor = flow ? node.extractors.get(flow) : undefined;
  const applier = flow ? node.appliers.get(flow) : undefined;
  if (stage === 'source' && extractor) {
    const r = await extractor.replay(items);
    Object.assign(report, { done: r.sent, again: r.again, awaiting: r.messageIds, notes: r.reasons.map((reason) => `set aside again: ${reason}`) });
  } else if (stage === 'target' && applier && node.receiveRefusal(applier.binding.flow.id)) {
    report.again = items.length;
    report.notes.push(`not applied again: ${node.receiveRefusal(applier.binding.flow.id)}`);
  } else if (stage === 'target' && applier) {
    const r = await applier.replay(items, signal);
    Object.assign(report, { done: r.applied, again: r.again, awaiting: r.receipts, notes: r.reasons.map((reason) => `rejected again: ${reason}`) });
  } else {
    report.again = items.length;
    report.notes.push(`flow '${flow}' is no longer ${stage === 'source' ? 'sent' : 'received'} by ${node.department.id}`);
  }
  return report;
}
