import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Project } from '../config/project';
import { errorMessage } from '../errors';
import type { VerifyResult } from '../ledger/ledger';
import type { Asker } from './asker';
import type { Alarms } from './alarms';

export interface LedgerVerdict {
  department: string;
  /** nothing found wrong (a node that did not answer is `answered: false`, not broken) */
  intact: boolean;
  answered: boolean;
  /** entries the centre holds, complete and checked */
  collected: string;
  problems: string[];
  /** the head the node last reported */
  head: { seq: string; hash: string } | null;
  /** the newest head the centre countersigned */
  countersigned: { seq: string; at: string } | null;
  /** the node's own check of its ledger, asked now over the broker; null when it did not answer in time */
  node: VerifyResult | null;
}

/**
 * Ledger verification at the centre: its copy of each ledger (checked entry by entry as it came),
 * the node's reported head against that copy and against the heads the centre countersigned (a ledger
 * cut short, rolled back or rewritten below them is broken even when its own chain is consistent),
 * and the node's own check of the ledger where it lives.
 */
export class Verifier {
  constructor(private readonly db: Database, private readonly project: Project, private readonly asker: Asker, private readonly alarms: Alarms) {}

  async verifyAll(waitMs: number): Promise<{ intact: boolean; departments: LedgerVerdict[] }> {
    const departments = [...this.project.config.departments.keys()];
    const answers = await this.asker.ask<VerifyResult | { error: string }>(departments, { request: 'verify' }, waitMs);
    const verdicts: LedgerVerdict[] = [];
    for (const d of departments) verdicts.push(await this.verdict(d, answers.get(d) ?? null, answers.why(d, waitMs)));
    return { intact: verdicts.every((v) => v.intact), departments: verdicts };
  }

  private async verdict(department: string, answer: VerifyResult | { error: string } | null, why: string): Promise<LedgerVerdict> {
    const node = answer && !('error' in answer) ? answer : null;
    const problems: string[] = [];
    const [state] = await this.db.query<{ contiguous: string; broken_seq: string | null; broken_reason: string | null; head_seq: string | null; head_hash: string | null }>(
      sql`SELECT contiguous, broken_seq, broken_reason, head_seq, head_hash FROM centre_departments WHERE department = ${department}`);
    const [signed] = await this.db.query<{ seq: string; at: string }>(sql`SELECT seq, at FROM centre_heads WHERE department = ${department} ORDER BY seq DESC LIMIT 1`);
    const head = state?.head_seq ? { seq: String(state.head_seq), hash: state.head_hash ?? '' } : null;
    if (!state) problems.push('the centre holds nothing of this ledger yet (no entry, no heartbeat)');
    if (state?.broken_seq) problems.push(`the centre's copy is broken at entry ${state.broken_seq}: ${state.broken_reason}`);
    try {
      if (head && head.seq !== '0') {
        const [held] = await this.db.query<{ hash: string }>(sql`SELECT hash FROM centre_ledger WHERE department = ${department} AND seq = ${head.seq}`);
        const restored = (await this.db.query(sql`SELECT 1 FROM centre_ledger WHERE department = ${department} AND kind = 'restored' LIMIT 1`)).length > 0;
        if (held && held.hash !== head.hash && !restored) problems.push(`the node's head, entry ${head.seq}, is not the entry the centre collected: rewritten`);
        if (signed && BigInt(signed.seq) > BigInt(head.seq) && !restored) problems.push(`the ledger ends at entry ${head.seq}, but the centre countersigned entry ${signed.seq} of it (${signed.at}): cut short or rolled back`);
      }
    } catch (err) {
      problems.push(`cannot compare with the node's head: ${errorMessage(err)}`);
    }
    if (node?.broken) problems.push(`the node's own check: broken at entry ${node.broken.seq}: ${node.broken.reason}`);
    if (answer && 'error' in answer) problems.push(`the node could not check its ledger: ${answer.error}`);
    if (problems.length) await this.alarms.raise('ledger-break', `ledger:${department}`, `ledger of ${department}: ${problems.join('; ')}`, { department });
    if (!answer) problems.push(`the node ${why} (is it running?): only the centre's copy and heads were checked, not the ledger where it lives`);
    return {
      department, intact: problems.length === (answer ? 0 : 1), answered: answer !== null, collected: state ? String(state.contiguous) : '0', problems, head,
      countersigned: signed ? { seq: String(signed.seq), at: signed.at } : null, node,
    };
  }
}
