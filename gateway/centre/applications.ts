import type { Database, Row, Tx } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { CENTRE } from '../config/duration';
import type { ExchangeConfig } from '../config/model';
import type { Keyring } from '../envelope/keys';
import { DxgError } from '../errors';
import { grantListText, ON_END, type ListedGrant, type OnEnd, type SignedGrantList } from '../grants/list';
import type { WorkingCalendar } from './calendar';
import type { CatalogStore } from './catalog-store';
import type { Journal } from './journal';
import type { User } from './users';

export const STATES = ['submitted', 'approved', 'rejected', 'revoked', 'expired'] as const;
export type State = (typeof STATES)[number];

export interface Application {
  id: string;
  resource: string;
  provider: string;
  department: string;
  items: string[];
  purpose: string;
  basis: string;
  /** the grant's validity in days from approval; null: until revoked */
  days: number | null;
  onEnd: OnEnd;
  state: State;
  applicant: string;
  submittedAt: string;
  /** the provider answers by the end of this day (working days of the calendar) */
  dueDate: string;
  /** working days left to answer (negative: overdue by so many), while submitted */
  workingDaysLeft: number | null;
  overdue: boolean;
  decidedAt: string | null;
  decidedBy: string | null;
  reason: string | null;
  validUntil: string | null;
  endedAt: string | null;
  endedBy: string | null;
  endReason: string | null;
}

export interface ApplicationInput {
  resource: string;
  department: string;
  items: string[];
  purpose: string;
  basis: string;
  days?: number;
  onEnd?: OnEnd;
}

/** The next version of the grant list: above every earlier one, and a centre set up anew starts above what its nodes kept. */
const NEXT_CHANGE = sql`GREATEST((SELECT coalesce(max(changed), 0) + 1 FROM centre_applications), (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`;

/**
 * Applications and grants (DESIGN §9): a department applies for items of a published resource; an
 * unconditional one is granted at once, one not shared is refused at once with its basis, a
 * conditional one waits for the provider's approver, who answers within the working days set. Every
 * decision is in the centre's journal with who and why; every change of a grant makes a new version
 * of the signed grant list, which the enforcer carries out at the broker and sends to the nodes.
 */
export class Applications {
  constructor(
    private readonly db: Database,
    private readonly config: ExchangeConfig,
    private readonly catalog: CatalogStore,
    private readonly journal: Journal,
    private readonly keyring: Keyring,
    private readonly calendar: WorkingCalendar,
    private readonly answerWithin: number,
  ) {}

  async apply(user: User, input: ApplicationInput): Promise<Application> {
    if (user.role === 'auditor') throw forbidden('an auditor reads; an operator, or an approver of the applying department, applies');
    if (user.role === 'approver' && user.department !== input.department) throw forbidden(`an approver of ${user.department} applies for ${user.department} only`);
    if (!this.config.departments.has(input.department)) throw usage(`no department '${input.department}' (known: ${[...this.config.departments.keys()].join(', ')})`);
    const entry = await this.catalog.entry(input.resource);
    if (!entry) throw usage(`no resource '${input.resource}' in the published catalog (dxg catalog list; dxg catalog publish)`);
    if (entry.provider === input.department) throw usage(`${input.department} provides ${entry.resource} itself: it needs no application`);
    const items = [...new Set(input.items)];
    if (items.length === 0) throw usage('name the information items wanted (--items a,b)');
    const unknown = items.filter((i) => !entry.items.some((x) => x.name === i));
    if (unknown.length) throw usage(`not information items of ${entry.resource}: ${unknown.join(', ')} (its items: ${entry.items.map((i) => i.name).join(', ')})`);
    if (!input.purpose.trim() || !input.basis.trim()) throw usage('an application states its purpose (--purpose) and its basis (--basis)');
    const onEnd = input.onEnd ?? 'keep';
    if (!ON_END.includes(onEnd)) throw usage(`on_end must be keep or purge, not '${String(onEnd)}'`);
    const now = new Date();
    const due = this.calendar.addWorkingDays(now, this.answerWithin);
    return this.db.transaction(async (tx) => {
      const [{ n }] = await tx.query<{ n: string }>(sql`SELECT nextval('centre_application_ids') AS n`);
      const id = `A${n}`;
      await tx.execute(sql`INSERT INTO centre_applications (id, resource, provider, department, items, purpose, basis, days, on_end, state, applicant, due_date, changed)
        VALUES (${id}, ${entry.resource}, ${entry.provider}, ${input.department}, ${JSON.stringify(items)}, ${input.purpose}, ${input.basis}, ${input.days ?? null}, ${onEnd}, 'submitted', ${user.name}, ${due}, ${NEXT_CHANGE})`);
      await this.journal.recordIn(tx, user.name, 'application submitted', `${id} ${input.department} ← ${entry.resource} [${items.join(', ')}]`, input.purpose);
      if (entry.sharing.type === 'unconditional') await this.decide(tx, id, 'approved', `${CENTRE} (unconditional resource)`, 'unconditional sharing: granted at once');
      if (entry.sharing.type === 'none') await this.decide(tx, id, 'rejected', `${CENTRE} (resource not shared)`, `not shared (不予共享): ${entry.sharing.basis ?? 'no basis given'}`);
      return (await this.read(tx, id))!;
    });
  }

  approve(user: User, id: string, reason?: string): Promise<Application> {
    return this.answer(user, id, 'approved', reason?.trim() || null);
  }

  reject(user: User, id: string, reason: string): Promise<Application> {
    if (!reason?.trim()) throw usage('a rejection gives its reason (--reason)');
    return this.answer(user, id, 'rejected', reason.trim());
  }

  /** The provider's approver, or an operator of the exchange office, ends a grant; the enforcer carries it out. */
  async revoke(user: User, id: string, reason: string): Promise<Application> {
    if (!reason?.trim()) throw usage('a revocation gives its reason (--reason)');
    return this.db.transaction(async (tx) => {
      const a = await this.lock(tx, id);
      if (user.role === 'auditor' || (user.role === 'approver' && user.department !== a.provider)) throw forbidden(`only an approver of ${a.provider} (the provider) or an operator revokes grant ${id}`);
      if (a.state !== 'approved') throw usage(`${id} is ${a.state}: only an approved grant is revoked`);
      await this.end(tx, id, 'revoked', user.name, reason.trim());
      return (await this.read(tx, id))!;
    });
  }

  /** Grants past their validity end; returns how many. */
  async expireDue(): Promise<number> {
    const due = await this.db.query<{ id: string }>(sql`SELECT id FROM centre_applications WHERE state = 'approved' AND valid_until <= now()`);
    for (const { id } of due) {
      await this.db.transaction(async (tx) => {
        const a = await this.lock(tx, id);
        if (a.state === 'approved') await this.end(tx, id, 'expired', CENTRE, `validity of ${a.days} day(s) ended`);
      });
    }
    return due.length;
  }

  async list(filter: { state?: string; department?: string; provider?: string } = {}): Promise<Application[]> {
    const rows = await this.db.query(sql`SELECT * FROM centre_applications
      WHERE (${filter.state ?? null}::text IS NULL OR state = ${filter.state ?? null})
        AND (${filter.department ?? null}::text IS NULL OR department = ${filter.department ?? null})
        AND (${filter.provider ?? null}::text IS NULL OR provider = ${filter.provider ?? null})
      ORDER BY submitted_at DESC, id DESC`);
    return rows.map((r) => this.view(r));
  }

  async get(id: string): Promise<Application | null> {
    const [row] = await this.db.query(sql`SELECT * FROM centre_applications WHERE id = ${id}`);
    return row ? this.view(row) : null;
  }

  /** The grant list, signed by the centre: every grant ever approved, with how it ended. */
  async signed(): Promise<SignedGrantList> {
    const rows = await this.db.query(sql`SELECT * FROM centre_applications WHERE state IN ('approved', 'revoked', 'expired') ORDER BY id`);
    const [v] = await this.db.query<{ version: string | null }>(sql`SELECT max(changed) AS version FROM centre_applications`);
    const grants: ListedGrant[] = rows.map((r) => {
      const a = this.view(r);
      return {
        id: a.id, resource: a.resource, department: a.department, items: a.items, approvedAt: a.decidedAt!, validUntil: a.validUntil, onEnd: a.onEnd,
        ended: a.endedAt ? { at: a.endedAt, as: a.state as 'revoked' | 'expired', reason: a.endReason ?? '' } : null,
      };
    });
    const body = { exchange: this.config.exchange, version: Number(v?.version ?? 0), issuedAt: new Date().toISOString(), grants };
    return { ...body, signature: this.keyring.sign(CENTRE, grantListText(body)) };
  }

  private async answer(user: User, id: string, state: 'approved' | 'rejected', reason: string | null): Promise<Application> {
    return this.db.transaction(async (tx) => {
      const a = await this.lock(tx, id);
      if (user.role !== 'approver' || user.department !== a.provider) throw forbidden(`only an approver of ${a.provider}, the provider of ${a.resource}, answers ${id}`);
      if (a.state !== 'submitted') throw usage(`${id} is ${a.state} already (${a.endedBy ? `ended by ${a.endedBy}` : `decided by ${a.decidedBy ?? '?'}`})`);
      await this.decide(tx, id, state, user.name, reason);
      return (await this.read(tx, id))!;
    });
  }

  private async decide(tx: Tx, id: string, state: 'approved' | 'rejected', by: string, reason: string | null): Promise<void> {
    await tx.execute(sql`UPDATE centre_applications SET state = ${state}, decided_at = now(), decided_by = ${by}, reason = ${reason},
      valid_until = CASE WHEN ${state} = 'approved' AND days IS NOT NULL THEN now() + days * interval '1 day' END, changed = ${NEXT_CHANGE} WHERE id = ${id}`);
    await this.journal.recordIn(tx, by, state === 'approved' ? 'application approved' : 'application rejected', id, reason);
  }

  private async end(tx: Tx, id: string, as: 'revoked' | 'expired', by: string, reason: string): Promise<void> {
    await tx.execute(sql`UPDATE centre_applications SET state = ${as}, ended_at = now(), ended_by = ${by}, end_reason = ${reason}, changed = ${NEXT_CHANGE} WHERE id = ${id}`);
    await this.journal.recordIn(tx, by, as === 'revoked' ? 'grant revoked' : 'grant expired', id, reason);
  }

  private async lock(tx: Tx, id: string): Promise<Application> {
    const [row] = await tx.query(sql`SELECT * FROM centre_applications WHERE id = ${id} FOR UPDATE`);
    if (!row) throw new DxgError('DXG_NOT_FOUND', `no application '${id}' (dxg applications)`);
    return this.view(row);
  }

  private async read(tx: Tx, id: string): Promise<Application | null> {
    const [row] = await tx.query(sql`SELECT * FROM centre_applications WHERE id = ${id}`);
    return row ? this.view(row) : null;
  }

  private view(r: Row): Application {
    const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());
    const state = r.state as State;
    const left = state === 'submitted' ? this.calendar.workingDaysBetween(new Date(), String(r.due_date)) : null;
    return {
      id: String(r.id), resource: String(r.resource), provider: String(r.provider), department: String(r.department),
      items: (typeof r.items === 'string' ? JSON.parse(r.items) : r.items) as string[], purpose: String(r.purpose), basis: String(r.basis),
      days: r.days === null ? null : Number(r.days), onEnd: r.on_end as OnEnd, state, applicant: String(r.applicant), submittedAt: iso(r.submitted_at)!,
      dueDate: String(r.due_date), workingDaysLeft: left, overdue: state === 'submitted' && String(r.due_date) < new Date().toISOString().slice(0, 10) && (left ?? 0) < 0,
      decidedAt: iso(r.decided_at), decidedBy: (r.decided_by as string | null) ?? null, reason: (r.reason as string | null) ?? null,
      validUntil: iso(r.valid_until), endedAt: iso(r.ended_at), endedBy: (r.ended_by as string | null) ?? null, endReason: (r.end_reason as string | null) ?? null,
    };
  }
}

const usage = (m: string) => new DxgError('DXG_USAGE', m);
const forbidden = (m: string) => new DxgError('DXG_FORBIDDEN', m);
