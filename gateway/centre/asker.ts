import { randomUUID } from 'node:crypto';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Question } from '../node/control';
import { sleep } from '../time';

type Asked = Question extends infer Q ? (Q extends Question ? Omit<Q, 'id'> : never) : never;

/** How long a silent node is waited for (see Asker.ask). */
export const SILENT_GRACE_MS = 2_000;

/** The answers by department, and those of the departments asked that gave none and whose node was silent (waited for only briefly). */
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
   * not answer is absent). A silent node is asked too, but waited for only `SILENT_GRACE_MS`: a page
   * asking every department comes back soon after the live ones answered, not after the whole wait,
   * and a node that is up but counted silent (its heartbeat behind a backlog in the feed, the centre
   * just restarted) still has a moment to answer. A replay, an operator's action on one department,
   * waits the whole time whatever the heartbeats say: its outcome is what the operator asked for.
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
    const silentNow = question.request === 'replay' ? new Map<string, number | null>() : await this.liveness.silent();
    const silent = new Map([...silentNow].filter(([d]) => asked.includes(d)));
    const started = Date.now();
    const deadline = started + waitMs;
    const graceEnds = started + Math.min(waitMs, SILENT_GRACE_MS);
    for (;;) {
      const rows = await this.db.query<{ department: string; body: T }>(sql`SELECT department, body FROM centre_answers WHERE request = ${id}`);
      const answered = new Set(rows.map((r) => r.department));
      const waiting = asked.filter((d) => !answered.has(d) && (!silent.has(d) || Date.now() <= graceEnds));
      if (waiting.length === 0 || Date.now() > deadline) {
        await this.db.execute(sql`DELETE FROM centre_answers WHERE request = ${id} OR at < now() - interval '1 hour'`);
        return new Answers(rows.map((r) => [r.department, r.body]), new Map([...silent].filter(([d]) => !answered.has(d))));
      }
      await sleep(100);
    }
  }

  /** An answer as the collector takes it from the feed. */
  async answered(department: string, request: string, body: unknown): Promise<void> {
    await this.db.execute(sql`INSERT INTO centre_answers (request, department, body) VALUES (${request}, ${department}, ${JSON.stringify(body)}) ON CONFLICT DO NOTHING`);
  }
}
