import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { LedgerHead } from '../envelope/envelope';
import { errorMessage } from '../errors';
import { publishFeedEvent } from '../ledger/feed';
import { log } from '../log';
import { VERSION } from '../version';
import { readFigures, type FigureSources, type Figures } from './figures';

/** What a node tells the centre of itself, every `centre.heartbeat` (DESIGN §8). */
export interface Heartbeat {
  at: string;
  version: string;
  /** the flows it sends and receives */
  sends: string[];
  receives: string[];
  /** its ledger's newest committed entry: the centre countersigns it and checks its copy against it */
  head: LedgerHead;
  /** its figures as `dxg status` and its /metrics read them; null while its database does not answer */
  figures: Figures | null;
  /** why the figures are missing */
  problem?: string;
  /** the versions of the centre's key list and grant list this node holds (none: 0) */
  keyList: number;
  grantList?: number;
  /** the newest restore declared in its ledger (dxg init --restored): the entry from which the centre's copy is replaced */
  restored: string | null;
}

/**
 * Sends a heartbeat at once and then every `everyMs`, on the audit feed. A heartbeat that cannot be
 * read or sent is skipped: the centre's silence alarm is what tells of it.
 */
export class HeartbeatSender {
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();
  private beats = 0;

  constructor(
    private readonly sources: FigureSources,
    /** the ledger head as its database holds it: another process of the department (dxg run --once beside dxg up) may have appended */
    private readonly head: () => Promise<LedgerHead>,
    private readonly publisher: Publisher,
    private readonly topology: Topology,
    private readonly everyMs: number,
    private readonly lists: () => { keyList: number; grantList: number },
    private readonly restored: () => string | null,
  ) {}

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sending;
  }

  private beat(): void {
    this.sending = this.sending.then(() => this.send()).catch((err) => {
      log.debug('heartbeat not sent', { department: this.sources.department, error: errorMessage(err) });
    });
  }

  private async send(): Promise<void> {
    if (!this.publisher.isOpen) return;
    const { department, sends, receives } = this.sources;
    let figures: Figures | null = null;
    let problem: string | undefined;
    try {
      figures = await readFigures(this.sources);
    } catch (err) {
      problem = `bookkeeping unreadable: ${errorMessage(err)}`;
    }
    const heartbeat: Heartbeat = {
      at: new Date().toISOString(), version: VERSION, sends: sends.map((f) => f.id), receives: receives.map((f) => f.id), head: await this.head(), figures, ...(problem ? { problem } : {}), ...this.lists(), restored: this.restored(),
    };
    await publishFeedEvent(this.publisher, this.topology, { type: 'heartbeat', department, heartbeat }, `${department}:heartbeat:${process.pid}:${++this.beats}`);
  }
}
