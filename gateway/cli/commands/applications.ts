import type { Command } from 'commander';
import type { Application } from '../../centre/applications';
import { centreCall } from '../../centre/client';
import type { Enforced } from '../../centre/enforcer';
import { DxgError } from '../../errors';
import { write } from '../context';
import { renderTable } from '../table';
import { centreUrl } from './login';

type Decided = { application: Application; enforced: Enforced | null; targets?: string[]; uncovered?: string[] };

/**
 * Applications and grants at the centre (DESIGN §9): apply, answer, revoke, list. Each call needs a
 * login (dxg login) with the role the centre asks for; the answer says what the broker now does.
 */
export function registerApplications(program: Command): void {
  program
    .command('apply')
    .description('apply at the centre for information items of a resource, for a department (an unconditional resource is granted at once; one not shared is refused with its basis)')
    .requiredOption('-r, --resource <resource>', 'the resource, as in the catalog')
    .requiredOption('-d, --department <id>', 'the department that is to receive')
    .requiredOption('--items <a,b,…>', 'the information items wanted, comma-separated')
    .requiredOption('--purpose <text>', 'what the data is for')
    .requiredOption('--basis <text>', 'the legal or policy basis of the use')
    .option('--days <n>', 'the grant holds so many days from approval (default: until revoked)', (v) => positive(v, '--days'))
    .option('--on-end <keep|purge>', 'what the receiving department does with the data when the grant ends', 'keep')
    .action(async (opts: { resource: string; department: string; items: string; purpose: string; basis: string; days?: number; onEnd: string }, cmd: Command) => {
      if (!['keep', 'purge'].includes(opts.onEnd)) throw new DxgError('DXG_USAGE', `--on-end must be keep or purge, not '${opts.onEnd}'`);
      const items = opts.items.split(',').map((i) => i.trim()).filter(Boolean);
      const r = await centreCall<Decided>(centreUrl(cmd), '/api/applications', {
        method: 'POST', body: { resource: opts.resource, department: opts.department, items, purpose: opts.purpose, basis: opts.basis, days: opts.days, on_end: opts.onEnd },
      });
      report(r);
    });

  program.command('approve <id>').description("approve an application (the provider's approver); the target is bound at once")
    .option('--reason <text>', 'a note kept with the decision')
    .action(async (id: string, opts: { reason?: string }, cmd: Command) => report(await decide(cmd, id, 'approve', opts.reason)));
  program.command('reject <id>').description("reject an application (the provider's approver), with the reason")
    .requiredOption('--reason <text>', 'why: told to the applicant and kept in the journal')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => report(await decide(cmd, id, 'reject', opts.reason)));
  program.command('revoke <id>').description("end a grant (the provider's approver, or an operator): the target is unbound, what waits in its queue becomes dead letters, later records are withheld")
    .requiredOption('--reason <text>', 'why: kept in the journal and the grant list')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => report(await decide(cmd, id, 'revoke', opts.reason)));

  program.command('applications').description('applications at the centre with their deadlines in working days, newest first')
    .option('-s, --state <state>', 'submitted, approved, rejected, revoked or expired')
    .option('-d, --department <id>', 'only those of the applying department')
    .option('-p, --provider <id>', 'only those for resources this department provides')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: { state?: string; department?: string; provider?: string; format: string }, cmd: Command) => {
      const q = new URLSearchParams(Object.entries({ state: opts.state, department: opts.department, provider: opts.provider }).filter((e): e is [string, string] => e[1] !== undefined));
      const list = await centreCall<Application[]>(centreUrl(cmd), `/api/applications${q.size ? `?${q}` : ''}`);
      if (opts.format === 'json') return write(JSON.stringify(list, null, 2));
      write(renderTable(['id', 'state', 'department ← resource', 'items', 'submitted', 'answer by', 'decided', 'valid until'], list.map((a) => [
        a.id, a.state + (a.overdue ? ' (OVERDUE)' : ''), `${a.department} ← ${a.resource}`, a.items.join(', '), a.submittedAt.slice(0, 10),
        a.state === 'submitted' ? `${a.dueDate} (${a.workingDaysLeft} working days)` : a.dueDate,
        a.decidedBy ? `${a.decidedBy}${a.reason ? `: ${a.reason}` : ''}` : '', a.endedAt ? `${a.state} ${a.endedAt.slice(0, 10)}: ${a.endReason}` : a.validUntil ?? (a.state === 'approved' ? 'until revoked' : ''),
      ])));
      write(`${list.length} application(s)${list.some((a) => a.overdue) ? `; ${list.filter((a) => a.overdue).length} overdue` : ''}`);
    });
}

function decide(cmd: Command, id: string, action: 'approve' | 'reject' | 'revoke', reason?: string): Promise<Decided> {
  return centreCall<Decided>(centreUrl(cmd), `/api/applications/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: reason ? { reason } : {} });
}

function report({ application: a, enforced, targets, uncovered }: Decided): void {
  const what = a.state === 'submitted' ? `submitted: ${a.provider}'s approver answers by ${a.dueDate} (${a.workingDaysLeft} working days)`
    : a.state === 'approved' ? `approved by ${a.decidedBy}${a.validUntil ? `, valid until ${a.validUntil}` : ''}: ${a.department} may receive ${a.items.join(', ')} of ${a.resource}`
      : a.state === 'rejected' ? `rejected by ${a.decidedBy}: ${a.reason}`
        : `${a.state}: ${a.endReason}; on_end ${a.onEnd} is carried out by ${a.department}'s node`;
  write(`${a.id} ${what}`);
  if (enforced?.bound.length) write(`broker: bound ${enforced.bound.join(', ')}`);
  else if (a.state === 'approved' && enforced) {
    write(!targets?.length ? `broker: nothing to bind: ${a.department} has no flow target of ${a.resource}`
      : uncovered?.length ? `broker: nothing newly bound: no flow target of ${a.department} for ${a.resource} maps only items this grant covers (dxg validate names what is missing)`
        : `broker: nothing newly bound: ${a.department}'s flow targets of ${a.resource} were bound already`);
  }
  for (const u of uncovered ?? []) write(`still withheld: ${u}`);
  if (enforced?.unbound.length) write(`broker: unbound ${enforced.unbound.join(', ')}; its connections closed${enforced.takenBack ? `; ${enforced.takenBack} queued message(s) taken back unread, counted as rejected (grant revoked)` : ''}`);
}

function positive(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new DxgError('DXG_USAGE', `${name} must be a whole number of days, at least 1`);
  return n;
}
