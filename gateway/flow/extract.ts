import type { Database, Position, Row } from '../../adapters/adapter';
import { dropCheckpoint, loadCheckpoint, saveCheckpoint, touchCheckpoint } from '../bookkeeping/checkpoint';
import { putOutbox } from '../bookkeeping/outbox';
import { markReplayed, putQuarantine, reasonsOf, supersede, type QuarantineRow } from '../bookkeeping/quarantine';
import type { Topology } from '../broker/topology';
import type { Keyring } from '../envelope/keys';
import { toWire, type WireValue } from '../indicators/codec';
import type { Ledger, LedgerEntry } from '../ledger/ledger';
import { log } from '../log';
import { buildBatch, type Batch } from './batch';
import type { Governance } from '../grants/governance';
import type { SourceBinding } from './binding';
import { sleep } from '../time';
import type { OutboxRelay } from './relay';

/** The channel a notifying source signals a flow's writes on. */
export const changeChannel = (flow: string): string => `dxg_${flow}`;

export interface TargetCount {
  published: number;
  messages: number;
  filtered: number;
  quarantined: number;
  /** records not sent for want of a grant */
  withheld: number;
}

/** How often a flow with nothing to send notes that it was polled (dxg status: last run). */
const TOUCH_MS = 60_000;

/** What one extraction cycle did. */
export interface CycleStats {
  flow: string;
  full: boolean;
  pages: number;
  extracted: number;
  /** rows this cycle had to go through when it started (known for full resyncs) */
  total?: number;
  /** records that failed the indicator schema (no target gets them) */
  quarantined: number;
  targets: Map<string, TargetCount>;
  messageIds: string[];
}

export interface ExtractContext {
  db: Database;
  binding: SourceBinding;
  keyring: Keyring;
  ledger: Ledger;
  department: string;
  topology: Topology;
  relay: OutboxRelay;
  messageMaxBytes: number;
  /** the newest envelope format to send records in (`broker.envelope_format`): 4 lays them out in rows */
  envelopeFormat: number;
  /** which targets may receive (a governed exchange's grants) */
  governance: Governance;
}

export interface CycleOptions {
  onPage?: (stats: CycleStats) => void;
  signal?: AbortSignal;
  /** first wait out the engine's settle time, so that everything committed before the call is taken */
  settle?: boolean;
  /** re-send the whole table (resuming an interrupted full resync), not only the changes */
  full?: boolean;
  /** a full resync for this one target (one restored from a backup), with a checkpoint of its own */
  only?: string;
}

/** The checkpoint of a full resync: the flow's own, or one per target resynced alone. */
export const fullCheckpoint = (flow: string, only?: string): string => (only === undefined ? `${flow}#full` : `${flow}#full@${only}`);

/**
 * The source side of one flow: reads changed rows page by page in `(watermark, key)` order up to
 * the safe horizon and turns each page into envelopes. Each page commits in one transaction: its
 * envelopes (into the outbox), its quarantined records, its ledger entries and the checkpoint after it.
 * A full resync walks the same way from the start with a checkpoint of its own, so an interrupted one
 * resumes from its last committed page.
 */
export class Extractor {
  private running: Promise<CycleStats> | null = null;
  /** when an empty cycle last noted itself in the checkpoint */
  private touched = 0;
  /** full resyncs running: for every target ('*'), or for one */
  private readonly fullRuns = new Map<string, Promise<CycleStats>>();

  constructor(private readonly ctx: ExtractContext) {}

  get flowId(): string {
    return this.ctx.binding.flow.id;
  }

  /** Runs one cycle; a cycle asked for while one of the same kind runs joins it. */
  cycle(options: CycleOptions = {}): Promise<CycleStats> {
    if (options.full) {
      const which = options.only ?? '*';
      const running = this.fullRuns.get(which) ?? this.run(options).finally(() => this.fullRuns.delete(which));
      this.fullRuns.set(which, running);
      return running;
    }
    if (!this.running) this.running = this.run(options).finally(() => (this.running = null));
    return this.running;
  }

  /**
   * A cycle after a commit notification (see ChangeWaker): after the one running, if any. Returns
   * how many rows committed before it started are still above the horizon.
   */
  async catchUp(signal: AbortSignal): Promise<number> {
    await this.running?.catch(() => undefined);
    const committed = await this.clock();
    await this.cycle({ signal });
    return signal.aborted ? 0 : this.heldBack(committed);
  }

  /** The source database's clock now, in the watermark's terms. */
  clock(): Promise<unknown> {
    return this.ctx.db.changes.clock(this.ctx.binding.watermarkColumn);
  }

  /**
   * Rows stamped before `until` that no cycle has sent yet: they lie above the horizon because a
   * transaction older than them is still open in the source database.
   */
  async heldBack(until: unknown): Promise<number> {
    const { db, binding } = this.ctx;
    const { position } = await loadCheckpoint(db, binding.flow.id);
    return db.changes.count(binding.change, position, until);
  }

  /** Resolves when no cycle is running (for a drain). */
  async idle(): Promise<void> {
    await Promise.allSettled([this.running, ...this.fullRuns.values()]);
  }

  private async run({ onPage, signal, settle, full = false, only }: CycleOptions): Promise<CycleStats> {
    const { db, binding } = this.ctx;
    const { flow } = binding;
    const checkpointId = full ? fullCheckpoint(flow.id, only) : flow.id;
    const targets = only ? new Set([only]) : undefined;
    const stats: CycleStats = {
      flow: flow.id,
      full,
      pages: 0,
      extracted: 0,
      quarantined: 0,
      targets: new Map(flow.targets.filter((t) => !only || t.department === only).map((t) => [t.department, { published: 0, messages: 0, filtered: 0, quarantined: 0, withheld: 0 }])),
      messageIds: [],
    };
    const checkpoint = await loadCheckpoint(db, checkpointId);
    let position = checkpoint.position;
    let sequence = checkpoint.nextSequence;
    if (settle) await sleep(db.changes.settleMs, signal);
    const horizon = await db.changes.horizon(binding.change, binding.watermarkColumn);
    if (full) {
      stats.total = await db.changes.count(binding.change, position, horizon);
      if (position) log.info('resuming the full resync from its last committed page', { flow: flow.id, target: only, remaining: stats.total });
      onPage?.(stats);
    }
    // three pages in the air: the next one being read, this one being built, the previous one committing
    const read = (after: Position | null) => quiet(db.changes.read(binding.change, after, horizon, flow.source.pageSize));
    let reading: Promise<Row[]> | null = read(position);
    let committing: Promise<void> = Promise.resolve();
    while (reading && !signal?.aborted) {
      const rows: Row[] = await reading;
      if (rows.length === 0) break;
      const last = rows[rows.length - 1];
      const next: Position = { watermark: last[binding.change.watermark], key: binding.change.key.map((k) => last[k]) };
      reading = rows.length < flow.source.pageSize ? null : read(next);
      const batch = await buildBatch(this.ctx, this.records(rows), sequence, targets);
      sequence = batch.nextSequence;
      const entries: LedgerEntry[] = [
        {
          kind: 'extract',
          flow: flow.id,
          from: this.ctx.department,
          // a resync for one target: these records enter that target's accounts only
          to: only,
          count: rows.length,
          detail: { after: position, last: next, horizon, full: full || undefined, only, filtered: nonZero(batch.filtered), withheld: nonZero(batch.withheld) },
        },
        ...batch.ledger,
      ];
      const from = position;
      position = next;
      await committing; // pages commit in order: the checkpoint only moves forward
      committing = quiet(this.commit(checkpointId, from, next, batch, entries).then(async () => {
        count(stats, rows.length, batch);
        onPage?.(stats);
        await this.ctx.relay.enqueue(batch.outbox);
      }));
    }
    await committing;
    if (full && !signal?.aborted) await dropCheckpoint(db, checkpointId);
    if (!full && stats.pages === 0 && Date.now() - this.touched > TOUCH_MS) {
      await touchCheckpoint(db, checkpointId);
      this.touched = Date.now();
    }
    return stats;
  }

  /**
   * Sends quarantined records again through today's indicator set, code tables and targets (after the
   * cause was fixed): to every target, or to the one a code-table problem concerned. Records still
   * failing are quarantined anew; the ledger shows both attempts. Returns the envelopes' ids.
   */
  async replay(items: QuarantineRow[]): Promise<{ messageIds: string[]; sent: number; again: number; reasons: string[] }> {
    const { db, binding, department } = this.ctx;
    const result = { messageIds: [] as string[], sent: 0, again: 0 };
    const reasons: string[] = [];
    const groups = new Map<string | null, QuarantineRow[]>();
    for (const item of items) groups.set(item.to_dept, [...(groups.get(item.to_dept) ?? []), item]);
    for (const [to, group] of groups) {
      const records = group.map((i) => JSON.parse(i.record ?? '{}') as Record<string, WireValue>);
      const batch = await buildBatch(this.ctx, records, 0, to ? new Set([to]) : undefined);
      const sent = batch.sealed.reduce((n, s) => n + s.meta.count, 0);
      const entry: LedgerEntry = {
        kind: 'replay', flow: binding.flow.id, from: department, to: to ?? undefined, count: group.length, keys: group.map((i) => i.record_key ?? ''),
        detail: {
          stage: 'source', items: group.map((i) => i.id), sent, quarantinedAgain: batch.quarantine.length,
          filtered: nonZero(batch.filtered), withheld: nonZero(batch.withheld),
        },
      };
      await db.transaction(async (tx) => {
        await markReplayed(tx, group.map((i) => i.id));
        await putQuarantine(tx, batch.quarantine);
        await putOutbox(tx, batch.outbox);
        await this.ctx.ledger.append(tx, [entry, ...batch.ledger]);
      });
      await this.ctx.relay.enqueue(batch.outbox);
      result.messageIds.push(...batch.sealed.map((s) => s.meta.messageId));
      result.sent += sent;
      result.again += batch.quarantine.length;
      reasons.push(...batch.quarantine.map((q) => q.reason));
    }
    return { ...result, reasons: reasonsOf(reasons) };
  }

  /** One page in one transaction: its quarantine, its envelopes, the checkpoint after it, its ledger entries. */
  private async commit(checkpointId: string, from: Position | null, to: Position, batch: Batch, entries: LedgerEntry[]): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      await supersede(tx, 'source', this.flowId, batch.versions);
      await putQuarantine(tx, batch.quarantine);
      await putOutbox(tx, batch.outbox);
      await saveCheckpoint(tx, checkpointId, from, to, batch.nextSequence);
      await this.ctx.ledger.append(tx, entries);
    });
  }

  /** Source rows → records in the indicator vocabulary, typed as the indicator set declares. */
  private records(rows: Row[]): Record<string, WireValue>[] {
    const { flow, set } = this.ctx.binding;
    const fields = Object.entries(flow.source.fields).map(([indicator, column]) => [indicator, column, set.kind(indicator)] as const);
    return rows.map((row) => {
      const data: Record<string, WireValue> = {};
      for (const [indicator, column, kind] of fields) data[indicator] = toWire(kind, row[column]);
      return data;
    });
  }
}

/** Per-target counts as a ledger detail: only the targets they concern. */
function nonZero(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].filter(([, n]) => n > 0));
}

/** A promise whose failure is reported where it is awaited, not as an unhandled rejection meanwhile. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Adds one cycle's figures to another's (cycles repeated within one run). */
export function addStats(into: CycleStats, more: CycleStats): CycleStats {
  into.pages += more.pages;
  into.extracted += more.extracted;
  into.quarantined += more.quarantined;
  for (const [to, s] of more.targets) {
    const t = into.targets.get(to)!;
    t.published += s.published;
    t.messages += s.messages;
    t.filtered += s.filtered;
    t.withheld += s.withheld;
    t.quarantined += s.quarantined;
  }
  into.messageIds.push(...more.messageIds);
  return into;
}

function count(stats: CycleStats, rows: number, batch: Batch): void {
  stats.pages++;
  stats.extracted += rows;
  stats.quarantined += batch.quarantinedRecords;
  for (const [to, s] of stats.targets) {
    s.filtered += batch.filtered.get(to) ?? 0;
    s.withheld += batch.withheld.get(to) ?? 0;
    s.quarantined += batch.quarantinedFor.get(to) ?? 0;
  }
  for (const e of batch.sealed) {
    const s = stats.targets.get(e.meta.to)!;
    s.published += e.meta.count;
    s.messages++;
    stats.messageIds.push(e.meta.messageId);
  }
}
