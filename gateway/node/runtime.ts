import cron, { type ScheduledTask } from 'node-cron';
import { recordedReceipts, type Receipt } from '../bookkeeping/receipts';
import { Broker } from '../broker/connection';
import { Publisher } from '../broker/publisher';
import { departmentUrl } from '../broker/credentials';
import { routesOf, Topology } from '../broker/topology';
import { requireKnown, type Project } from '../config/project';
import { exchangeKeyring } from '../envelope/keys';
import { DxgError, errorMessage } from '../errors';
import { addStats, changeChannel, type CycleStats } from '../flow/extract';
import { Backoff } from '../backoff';
import { sleep } from '../time';
import { ChangeWaker } from '../flow/wake';
import { log } from '../log';
import { DepartmentNode, type NodeContext } from './node';
import type { Governance } from '../grants/governance';
import { currentGovernance } from '../grants/current';

/** node-cron's own notices (a tick missed while the event loop was busy) go to the operational log, not the console. */
const cronLogger = {
  info: (m: string) => log.debug(m, { component: 'node-cron' }),
  warn: (m: string) => log.debug(m, { component: 'node-cron' }),
  error: (m: string | Error, err?: Error) => log.error(errorMessage(m), { component: 'node-cron', error: err && errorMessage(err) }),
  debug: (m: string | Error) => log.debug(errorMessage(m), { component: 'node-cron' }),
};

export interface FlowRun {
  stats: CycleStats;
  /** rows stamped before the run that an open transaction in the source database still held back at its end */
  heldBack?: number;
  /** closing parts of the key reconciliation, when one ran */
  reconciled?: string[];
  receipts: Map<string, Receipt>;
}

export interface ReceiptCollector {
  arrived: Map<string, Receipt>;
  /** resolves with the ids still without a receipt when all arrived or the time is up */
  wait(ids: string[], timeoutMs: number): Promise<string[]>;
  stop(): void;
}

export interface RunOptions {
  flows?: string[];
  timeoutMs: number;
  onPage?: (stats: CycleStats) => void;
  full?: boolean;
  reconcile?: boolean;
  /** how long to wait for transactions that hold back rows stamped before the run (default 30 s) */
  waitMs?: number;
}

/** A department's own connection to the broker, as its own broker user, and its publisher. */
interface Connection {
  broker: Broker;
  publisher: Publisher;
}

/**
 * The nodes of one process: one per department it runs, each connected to the broker as that
 * department's own user (which reads only its queues and writes only its exchanges).
 * `dxg run --once` and `dxg up` are both a Runtime; they differ in what drives the extractors.
 */
export class Runtime {
  readonly nodes = new Map<string, DepartmentNode>();
  private readonly tasks: ScheduledTask[] = [];
  private readonly listening: Promise<() => Promise<void>>[] = [];
  private readonly abort = new AbortController();

  private readonly connections = new Map<string, Connection>();
  /** which targets may receive, shared by this process's nodes (ungoverned without a catalog) */
  governance: Governance | null = null;

  private constructor(readonly project: Project) {}

  static async start(project: Project, options: { departments?: string[]; patient?: boolean; label?: string } = {}): Promise<Runtime> {
    const { config } = project;
    const wanted = options.departments?.length ? options.departments : [...config.departments.keys()];
    requireKnown(project, { department: wanted });
    const keyring = exchangeKeyring(config);
    for (const d of wanted) keyring.privateKey(d);
    const topology = Topology.of(config);
    const runtime = new Runtime(project);
    try {
      for (const d of wanted) {
        const user = topology.user(d);
        const broker = await Broker.connect(departmentUrl(config, d, user), `${options.label ?? 'node'} ${d}`, options.patient, config.broker.ca);
        const publisher = new Publisher(broker, user);
        runtime.connections.set(d, { broker, publisher });
        await publisher.start();
      }
      await runtime.checkTopology(topology, wanted);
      // the centre's grant list of now, or the one the last run kept: the nodes decide with it until the centre sends a newer one
      const { governance, note } = await currentGovernance(project, keyring, true);
      if (note && governance.governed) log.warn(note);
      runtime.governance = governance;
      const context = (d: string) => ({ project, ...runtime.connections.get(d)!, keyring, topology, governance });
      const open = (d: string) => (options.patient ? runtime.openPatiently(d, context(d)) : DepartmentNode.open(config.departments.get(d)!, context(d)));
      const opened = await Promise.allSettled(wanted.map(open));
      const failed = opened.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      for (const o of opened) if (o.status === 'fulfilled') runtime.nodes.set(o.value.department.id, o.value);
      if (failed.length) throw failed.length === 1 ? failed[0].reason : new DxgError('DXG_CONFIG', failed.map((f) => errorMessage(f.reason)).join('\n'));
      for (const node of runtime.nodes.values()) await node.start();
    } catch (err) {
      await runtime.stop(true);
      throw err;
    }
    return runtime;
  }

  /**
   * Runs one extraction cycle of each flow (or the named ones), optionally a full resync or a key
   * reconciliation as well, and waits for every receipt.
   */
  async runOnce(options: RunOptions): Promise<FlowRun[]> {
    const { flows: flowIds, timeoutMs, onPage, full, reconcile } = options;
    requireKnown(this.project, { flow: flowIds });
    // without --flow: the flows whose source runs in this process
    const flows = this.project.flows.filter((f) => (flowIds?.length ? flowIds.includes(f.id) : this.nodes.has(f.source.department)));
    const receipts = this.collectReceipts();
    const runs: FlowRun[] = [];
    const awaited: string[] = [];
    try {
      for (const flow of flows) {
        const node = this.nodes.get(flow.source.department);
        if (!node) throw new DxgError('DXG_USAGE', `flow '${flow.id}' needs department '${flow.source.department}' in this process`);
        const extractor = node.extractors.get(flow.id)!;
        const started = await extractor.clock();
        const stats = await extractor.cycle({ onPage, signal: this.abort.signal, settle: true, full });
        const run: FlowRun = { stats, receipts: new Map() };
        if (!full) {
          // rows stamped before this run but held back by an older open transaction: wait a while for it
          const deadline = Date.now() + (options.waitMs ?? 30_000);
          run.heldBack = await extractor.heldBack(started);
          while (run.heldBack > 0 && Date.now() < deadline && !this.abort.signal.aborted) {
            await sleep(500, this.abort.signal);
            addStats(stats, await extractor.cycle({ onPage, signal: this.abort.signal }));
            run.heldBack = await extractor.heldBack(started);
          }
        }
        awaited.push(...stats.messageIds);
        if (reconcile) {
          const r = await node.reconcilers.get(flow.id)!.run(this.abort.signal);
          run.reconciled = r.closing;
          awaited.push(...r.closing);
        }
        runs.push(run);
      }
      const left = (await receipts.wait(awaited, timeoutMs)).length;
      if (left) {
        throw new DxgError('DXG_TIMEOUT', `${left} envelope(s) have no receipt after ${Math.round(timeoutMs / 1000)} s; they stay queued and are applied when their target node runs (see: dxg status)`);
      }
    } finally {
      receipts.stop();
    }
    const arrived = receipts.arrived;
    for (const run of runs) for (const id of [...run.stats.messageIds, ...(run.reconciled ?? [])]) run.receipts.set(id, arrived.get(id)!);
    return runs;
  }

  /**
   * A long-running node whose database is down at start waits for it rather than exiting: departments
   * run unattended, and a node must come up after a power cut whatever starts first. Configuration
   * problems still fail at once.
   */
  private async openPatiently(department: string, context: NodeContext): Promise<DepartmentNode> {
    const backoff = new Backoff(1000, 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        return await DepartmentNode.open(this.project.config.departments.get(department)!, context);
      } catch (err) {
        if (!(err instanceof DxgError && err.code === 'DXG_DB') || this.abort.signal.aborted) throw err;
        if (attempt === 1 || attempt % 10 === 0) log.warn('department database unreachable; waiting for it', { department, attempt, error: errorMessage(err) });
        await backoff.wait(this.abort.signal);
      }
    }
  }

  /** Aborted when the runtime stops: long waits end with it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * Starts collecting receipts (before sending: receipts for the first envelopes come back while the
   * last ones are still being sent). `wait` resolves once the listed ones are in or the time is up.
   */
  collectReceipts(): ReceiptCollector {
    const arrived = new Map<string, Receipt>();
    const received = (r: Receipt) => arrived.set(r.messageId, r);
    for (const node of this.nodes.values()) node.receipts.on('receipt', received);
    const stop = () => {
      for (const node of this.nodes.values()) node.receipts.off('receipt', received);
    };
    return {
      arrived,
      wait: async (ids, timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        const missing = () => ids.filter((id) => !arrived.has(id));
        for (let look = 1; missing().length && Date.now() < deadline && !this.abort.signal.aborted; look++) {
          await new Promise((r) => setTimeout(r, 50));
          // every half second, also what a node running elsewhere (dxg up) took from the same queue and recorded
          if (look % 10 === 0) for (const node of this.nodes.values()) for (const r of await recordedReceipts(node.db, missing())) received(r);
        }
        return missing();
      },
      stop,
    };
  }

  /** Starts the cron schedules of the flows whose source runs here: extraction, and reconciliation where configured. */
  schedule(): void {
    for (const node of this.nodes.values()) {
      for (const [flowId, extractor] of node.extractors) {
        const flow = this.project.flows.find((f) => f.id === flowId)!;
        this.every(flow.source.schedule, `dxg:${flow.id}`, async () => {
          const stats = await node.metrics.run('extract', flow.id, () => extractor.cycle({ signal: this.abort.signal }));
          if (stats.extracted) {
            // set aside for every target (the indicator set), and for some only (their code tables)
            const forTargets = Object.fromEntries([...stats.targets].filter(([, t]) => t.quarantined > 0).map(([d, t]) => [d, t.quarantined]));
            log.info('cycle done', { flow: flow.id, extracted: stats.extracted, quarantined: stats.quarantined, quarantinedFor: Object.keys(forTargets).length ? forTargets : undefined, messages: stats.messageIds.length });
          }
        });
        if (flow.source.notify) {
          const waker = new ChangeWaker(node.db.changes.settleMs, () => node.metrics.run('extract', flow.id, () => extractor.catchUp(this.abort.signal)), this.abort.signal,
            (err) => log.error(`dxg:${flow.id} failed; the next cycle resumes from the checkpoint`, { error: errorMessage(err) }));
          this.listening.push(node.db.changes.notifications!.listen(changeChannel(flow.id), () => waker.notify()).catch((err) => {
            log.warn('cannot listen for changes; the schedule alone drives the flow', { flow: flow.id, error: errorMessage(err) });
            return async () => undefined;
          }));
        }
        if (flow.source.reconcile) {
          const reconciler = node.reconcilers.get(flowId)!;
          this.every(flow.source.reconcile, `dxg:${flow.id}:reconcile`, async () => {
            const r = await node.metrics.run('reconcile', flow.id, () => reconciler.run(this.abort.signal));
            log.info('reconciliation sent', { flow: flow.id, run: r.run, keys: Object.fromEntries(r.keys) });
          });
        }
      }
    }
  }

  /** A tick that comes while the job still runs is skipped quietly (node-cron's own guard warns on the console at every tick). */
  private every(expression: string, name: string, job: () => Promise<void>): void {
    let busy = false;
    this.tasks.push(cron.schedule(expression, async () => {
      if (busy) return;
      busy = true;
      try {
        await job();
      } catch (err) {
        log.error(`${name} failed; the next run resumes from the checkpoint`, { error: errorMessage(err) });
      } finally {
        busy = false;
      }
    }, { name, logger: cronLogger }));
  }

  /** Drains: no new cycles, finish the page and the messages in hand, deliver the outbox, close. */
  async stop(now = false, graceMs?: number): Promise<void> {
    for (const t of this.tasks.splice(0)) await t.stop();
    for (const stop of await Promise.allSettled(this.listening.splice(0))) if (stop.status === 'fulfilled') await stop.value();
    this.abort.abort(); // cycles stop at the next page boundary, their checkpoint saved
    await Promise.all([...this.nodes.values()].map((n) => n.stop(now, graceMs)));
    for (const { broker, publisher } of this.connections.values()) {
      await publisher.stop();
      await broker.close();
    }
  }

  /** Each department's queues, looked at as that department: they exist, and its user may read them. */
  private async checkTopology(topology: Topology, departments: string[]): Promise<void> {
    const routes = routesOf(this.project.flows);
    for (const d of departments) {
      for (const q of topology.queues([d], routes)) {
        try {
          await this.connections.get(d)!.broker.withChannel((ch) => ch.checkQueue(q));
        } catch (err) {
          throw new DxgError('DXG_BROKER', `queue ${q} is not there for department ${d}'s broker user (${errorMessage(err)}); run: dxg init`);
        }
      }
    }
  }
}
