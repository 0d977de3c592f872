import { randomUUID } from 'node:crypto';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Question } from '../node/control';
import { sleep } from '../time';

type Asked = Question extends infer Q ? (Q extends Question ? Omit<Q, 'id'> : never) : never;

/** The answers by department, and the departments whose node was silent when asked (not waited for). */
export class Answers<T> extends Map<string, T> {
  constructor(entries: [string, T][], readonly silent: ReadonlyMap<string, number | null>) {
    super(entries);
  }

  /** Why a department gave no answer, in words for a person ('' when it answered). */
  why(department: string, waitMs: number): string {
    if (this.has(department)) return '';
    if (!this.silent.has(department)) return `did not answer within ${Math.round(waitMs / 1000)} s`;
    const age = this.silent.get(department);
    return age === null || age === undefined ? 'is silent: no heartbeat since the centre started' : `is silent: no heartbeat for ${Math.round(age / 1000)} s`;
  }
}

/** Which departments' nodes are silent now (see Monitor.silent). */
export interface Liveness {
  silent(): Promise<Map<string, number | null>>;
}

/**
 * Questions to department nodes over their control queues, answered on the audit feed (the
 * collector stores each answer): the centre reads nothing of a department's database itself.
 */
export class Asker {
  constructor(private readonly db: Database, private readonly publisher: Publisher, private readonly topology: Topology, private readonly liveness: Liveness) {}

  /**
   * Asks each department; resolves with the answers that came within `waitMs` (a department that did
   * not answer is absent). A silent node is asked too, but not waited for: a page asking every
   * department comes back as soon as the live ones answered, not after the whole wait.
   */
  async ask<T>(departments: readonly string[], question: Asked, waitMs: number): Promise<Answers<T>> {
    const id = randomUUID();
    const asked: string[] = [];
    for (const d of departments) {
      const body = Buffer.from(JSON.stringify({ ...question, id }));
      try {
        // a replay waits in the queue for a node that is down; a question nobody waits for any more expires
        const expiration = question.request === 'replay' ? undefined : String(waitMs);
        await this.publisher.publish(this.topology.controlExchange, d, body, { messageId: `centre:${question.request}:${d}:${id}`, contentType: 'application/json', type: 'dxg.control', ...(expiration ? { expiration } : {}) });
        asked.push(d);
      } catch {
        // the broker is away: no answer from this one
      }
    }
    const silent = await this.liveness.silent();
    const awaited = asked.filter((d) => !silent.has(d));
    const deadline = Date.now() + waitMs;
    for (;;) {
      const rows = await this.db.query<{ department: string; body: T }>(sql`SELECT department, body FROM centre_answers WHERE request = ${id}`);
      const answered = new Set(rows.map((r) => r.department));
      if (awaited.every((d) => answered.has(d)) || Date.now() > deadline) {
        await this.db.execute(sql`DELETE FROM centre_answers WHERE request = ${id} OR at < now() - interval '1 hour'`);
        return new Answers(rows.map((r) => [r.department, r.body]), silent);
      }
      await sleep(100);
    }
  }

  /** An answer as the collector takes it from the feed. */
  async answered(department: string, request: string, body: unknown): Promise<void> {
    await this.db.execute(sql`INSERT INTO centre_answers (request, department, body) VALUES (${request}, ${department}, ${JSON.stringify(body)}) ON CONFLICT DO NOTHING`);
  }
}
