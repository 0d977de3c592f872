import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage } from '../errors';
import { Aborted } from '../flow/retry';
import { log } from '../log';
import { readFigures, type FigureSources, type Figures } from './figures';

/** Work of a flow that a node does, as `dxg_errors_total` labels it. */
export type Work = 'extract' | 'reconcile' | 'apply' | 'receipts';

/** A scrape collects several metrics from the same reading: one reading serves them all. */
const SCRAPE_MS = 1000;

function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (!last || Date.now() - last.at > SCRAPE_MS) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

/** The record outcomes of `dxg_records_total`, each a FlowCounts figure (docs/metrics.md). */
const OUTCOMES = {
  extracted: 'extracted',
  replayed_at_source: 'replayedAtSource',
  quarantined: 'quarantined',
  filtered: 'filtered',
  withheld: 'withheld',
  published: 'published',
  replayed_at_target: 'replayedAtTarget',
  applied: 'applied',
  rejected: 'rejected',
} as const;

/**
 * One department's metrics, in a registry of its own (several departments in one process each
 * serve theirs). Counts and backlogs are read from its bookkeeping at each scrape, so they survive
 * restarts and equal `dxg status`; durations and errors are this process's own.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly cycles: Histogram<'flow'>;
  private readonly applies: Histogram<'flow'>;
  private readonly errors: Counter<'flow' | 'work'>;
  private readonly figures: () => Promise<Figures>;

  constructor(private readonly sources: FigureSources) {
    const registers = [this.registry];
    const self = this;
    this.figures = oncePerScrape(() => readFigures(sources));
    new Counter({
      name: 'dxg_records_total', help: 'Records of the flows this department sends, per target and outcome, from its ledger and receipts (as dxg status)',
      labelNames: ['flow', 'target', 'outcome'], registers,
      async collect() {
        const counts = await self.figure((f) => f.counts);
        if (!counts) return;
        this.reset();
        for (const c of counts) for (const [outcome, figure] of Object.entries(OUTCOMES)) this.inc({ flow: c.flow, target: c.target, outcome }, c[figure]);
      },
    });
    this.gauge('dxg_awaiting_receipt_envelopes', 'Envelopes published to a target whose receipt has not come back', ['flow', 'target'], async () =>
      (await this.figure((f) => f.counts))?.map((c) => [{ flow: c.flow, target: c.target }, c.awaitingReceipt]));
    this.gauge('dxg_outbox_envelopes', 'Envelopes committed but not yet confirmed by the broker (records sent, receipts returned)', ['flow'], async () =>
      (await this.figure((f) => f.outbox))?.map((o) => [{ flow: o.flow }, o.envelopes]));
    this.gauge('dxg_source_rows_behind', 'Source rows above the checkpoint: changed but not yet extracted', ['flow'], async () =>
      (await this.figure((f) => f.checkpoints))?.flatMap((c) => (c.behind === null ? [] : [[{ flow: c.flow }, c.behind]])));
    this.gauge('dxg_checkpoint_timestamp_seconds', 'When a cycle last moved or confirmed the checkpoint (dxg status: last run), Unix time', ['flow'], async () =>
      (await this.figure((f) => f.checkpoints))?.flatMap((c) => (c.updatedAt ? [[{ flow: c.flow }, Date.parse(c.updatedAt) / 1000]] : [])));
    this.gauge('dxg_quarantine_items', 'Open quarantine items: records set aside at this source, or rejected at this target', ['flow', 'stage'], async () =>
      (await this.figure((f) => f.quarantine))?.flatMap((q) => (q.stage === 'dead-letter' ? [] : [[{ flow: q.flow ?? '', stage: q.stage }, q.items]])));
    this.gauge('dxg_dead_letters', 'Open dead letters: whole messages this department could not take', ['flow'], async () =>
      (await this.figure((f) => f.quarantine))?.flatMap((q) => (q.stage === 'dead-letter' ? [[{ flow: q.flow ?? '' }, q.items]] : [])));
    this.gauge('dxg_queue_messages', "Messages ready in this department's own queues (flow '' for receipts and dead letters)", ['queue', 'flow'], async () =>
      (await this.figure((f) => f.queues))?.map((q) => [{ queue: q.queue, flow: q.flow }, q.messages]));
    const ready = oncePerScrape(() => sources.readiness.check());
    this.gauge('dxg_ready', '1 while the node takes work (as /ready answers 200)', [], async () => [[{}, (await ready()).ready ? 1 : 0]]);
    this.gauge('dxg_database_up', "1 while this department's database answers", [], async () => [[{}, (await ready()).database ? 1 : 0]]);
    this.gauge('dxg_broker_up', "1 while this department's broker connection is up", [], async () => [[{}, sources.readiness.brokerConnected ? 1 : 0]]);

    this.cycles = new Histogram({
      name: 'dxg_cycle_duration_seconds', help: 'Extraction cycles of the flows this department sends, from start to the last page committed',
      labelNames: ['flow'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers,
    });
    this.applies = new Histogram({
      name: 'dxg_apply_duration_seconds', help: 'Envelopes applied at this target, from the verified envelope to its committed transaction',
      labelNames: ['flow'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    this.errors = new Counter({
      name: 'dxg_errors_total', help: 'Failed work (retried: a cycle resumes from its checkpoint, a message returns to its queue), by flow and work',
      labelNames: ['flow', 'work'], registers,
    });
    // series that exist from the start, so that rate() and increase() see their first event
    for (const flow of sources.sends) {
      this.cycles.zero({ flow: flow.id });
      for (const work of ['extract', 'receipts', ...(flow.source.reconcile ? ['reconcile'] as const : [])] as const) this.errors.inc({ flow: flow.id, work }, 0);
    }
    for (const flow of sources.receives) {
      this.applies.zero({ flow: flow.id });
      this.errors.inc({ flow: flow.id, work: 'apply' }, 0);
    }
  }

  /** Runs a piece of a flow's work: times cycles and applies, and counts a failure (not an interruption by a drain). */
  async run<T>(work: Work, flow: string, job: () => Promise<T>): Promise<T> {
    const histogram = work === 'extract' ? this.cycles : work === 'apply' ? this.applies : null;
    const end = histogram?.startTimer({ flow });
    try {
      const result = await job();
      end?.();
      return result;
    } catch (err) {
      if (!(err instanceof Aborted)) this.errors.inc({ flow, work });
      throw err;
    }
  }

  /** One figure of this scrape; undefined while the bookkeeping cannot be read (the last values stay, and /ready says why). */
  private async figure<T>(pick: (f: Figures) => T): Promise<T | undefined> {
    try {
      return pick(await this.figures());
    } catch (err) {
      log.debug('metrics: bookkeeping unreadable', { department: this.sources.department, error: errorMessage(err) });
      return undefined;
    }
  }

  /** A gauge whose values are all set anew at each scrape. */
  private gauge(name: string, help: string, labelNames: string[], values: () => Promise<[Record<string, string>, number][] | undefined>): void {
    new Gauge({
      name, help, labelNames, registers: [this.registry],
      async collect() {
        const fresh = await values();
        if (!fresh) return;
        this.reset();
        for (const [labels, value] of fresh) this.set(labels, value);
      },
    });
  }
}
