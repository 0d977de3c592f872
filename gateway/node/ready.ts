import type { ChannelModel } from 'amqplib';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Broker } from '../broker/connection';
import { errorMessage } from '../errors';

/** A database that does not answer a plain query within this is as good as down for /ready. */
const DATABASE_ANSWER_MS = 3000;

export interface ReadyReport {
  ready: boolean;
  state: 'starting' | 'taking work' | 'draining';
  database: boolean;
  broker: boolean;
  /** why it is not ready */
  reason?: string;
}

/**
 * Whether a department's node takes work: it consumes, its database answers and its broker
 * connection is up. A supervisor waits for it after a start; a drain turns it off first.
 */
export class Readiness {
  private state: ReadyReport['state'] = 'starting';
  private brokerUp = false;
  // runs on every (re)connection; the connection's close is the only sign it went
  private readonly watch = async (model: ChannelModel): Promise<void> => {
    this.brokerUp = true;
    model.once('close', () => (this.brokerUp = false));
  };

  constructor(private readonly db: Database, private readonly broker: Broker) {}

  /** The node consumes from now on. */
  async takingWork(): Promise<void> {
    await this.broker.attach(this.watch);
    this.state = 'taking work';
  }

  draining(): void {
    this.state = 'draining';
    this.broker.detach(this.watch);
  }

  get brokerConnected(): boolean {
    return this.brokerUp;
  }

  async check(): Promise<ReadyReport> {
    const database = await this.databaseAnswers();
    const broker = this.brokerUp;
    const reasons = [
      ...(this.state === 'taking work' ? [] : [this.state === 'starting' ? 'the node is starting' : 'the node is draining (stopping)']),
      ...(database === true ? [] : [`database: ${database}`]),
      ...(broker ? [] : ['broker: not connected (reconnecting)']),
    ];
    return { ready: reasons.length === 0, state: this.state, database: database === true, broker, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
  }

  /** true, or what went wrong */
  private async databaseAnswers(): Promise<true | string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${DATABASE_ANSWER_MS / 1000} s`), DATABASE_ANSWER_MS)));
    try {
      return await Promise.race([this.db.query(sql`SELECT 1 AS one`).then(() => true as const, (err) => errorMessage(err)), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
