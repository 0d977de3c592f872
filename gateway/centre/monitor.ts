import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Project } from '../config/project';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { receiptsAgree, targetOutcomes, unavailable, type FlowCounts } from '../ledger/counts';
import { log } from '../log';
import type { Heartbeat } from '../node/heartbeat';
import type { ControlRequest } from '../node/control';
import { CENTRE } from '../config/duration';
import type { Alarms } from './alarms';
import type { LedgerCopy } from './ledger-copy';
import type { KeyRegistry } from './registry';

/** One flow target as the centre sees it: the source's counts, lag from the ledgers, backlog from the heartbeats. */
export interface TargetView {
  flow: string;
  source: string;
  target: string;
  counts: FlowCounts | null;
  reconciled: boolean | null;
  /** seconds from the envelope's commit at the source to its apply at the target, over the last window */
  lag: { p50: number; p95: number; envelopes: number } | null;
  /** records applied per second at the target over the last minute */
  recordsPerSecond: number;
  backlog: { outbox: number | null; queued: number | null; awaitingReceipt: number | null };
  quarantined: number | null;
  deadLetters: number | null;
}

export interface NodeView {
  department: string;
  name: string;
  version: string | null;
  heartbeatAt: string | null;
  silent: boolean;
  head: { seq: string; hash: string } | null;
  /** how much of its ledger the centre holds, complete and checked */
  collected: string;
  broken: { seq: string; reason: string } | null;
  sends: string[];
  receives: string[];
  checkpoints: { flow: string; updatedAt: string | null; behind: number | null }[];
}

type DepartmentRow = Record<string, unknown> & {
  department: string;
  heartbeat: Heartbeat | null;
  contiguous: string;
  head_seq: string | null;
  /** when the centre took its last heartbeat, by the centre's clock */
  heartbeat_ms: string | null;
};

/** Where the centre's feed is, as the collector that takes it tells. */
export interface FeedMark {
  /** whether messages wait in the centre's queue, not yet delivered to the collector */
  waiting: boolean;
  /** messages delivered to the collector so far, and those it has taken (stored, or failed) */
  delivered: number;
  taken: number;
}

export interface FeedWatch {
  mark(): Promise<FeedMark>;
}

/** How long one reading of the flow targets serves. */
const READING_MS = 2000;

/** How far back lag and rates are computed from the ledgers. */
const LAG_WINDOW_MS = 15 * 60_000;

/**
 * Watches the nodes through their heartbeats and the collected ledgers: countersigns each head it
 * can check, asks nodes for the entries its copy lacks, and raises (and clears) the alarms of
 * DESIGN §8 on every tick.
 */
export class Monitor {
  private readonly started = Date.now();
  private reading: { at: number; value: Promise<TargetView[]> } | null = null;
  /** until a collector watches the feed (the centre starts one), nothing is known to wait in it */
  private feed: FeedWatch = { mark: async () => ({ waiting: false, delivered: 0, taken: 0 }) };
  /** the feed, and where each department's gap began, at the last look (see standing) */
  private lastLook: { feed: FeedMark; gaps: Map<string, string> } | null = null;
  /**
   * Flow targets whose counts disagreed at the last tick. A disagreement is alarmed only when it is
   * still there at the next: a replay's ledger entries and its receipt reach the centre a moment
   * apart, and every replay would otherwise raise (and POST) an alarm that clears itself.
   */
  private readonly disagreeing = new Set<string>();
  /** per department: heartbeats in a row whose head was below the one the centre countersigned */
  private readonly lowHeads = new Map<string, number>();
  /** sends the grant list to a node whose heartbeat names an older one (set by the centre once its enforcer is up) */
  grantList: ((department: string, held: number) => Promise<void>) | null = null;

  constructor(
    private readonly db: Database,
    private readonly project: Project,
    private readonly copy: LedgerCopy,
    private readonly alarms: Alarms,
    private readonly keyring: Keyring,
    private readonly publisher: Publisher,
    private readonly topology: Topology,
    private readonly registry: KeyRegistry,
  ) {}

  /**
   * The departments whose node is silent now (no heartbeat for `centre.alarms.silent_after`), with how
   * long (null: none since the centre started): what the node-silent alarm says.
   */
  async silent(): Promise<Map<string, number | null>> {
    const rows = await this.db.query<{ department: string; age_ms: string | null }>(sql`SELECT department,
      (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms FROM centre_departments`);
    const ages = new Map(rows.map((r) => [r.department, r.age_ms === null ? null : Number(r.age_ms)]));
    const silent = new Map<string, number | null>();
    for (const d of this.project.config.departments.keys()) {
      const age = ages.get(d) ?? null;
      if (this.silentFor(age) > this.project.config.centre!.alarms.silentAfterMs) silent.set(d, age);
    }
    return silent;
  }

  /**
   * How long a node has been silent, given the age of its last heartbeat (null: none yet). A heartbeat
   * taken before this centre started says nothing of the time the centre was down: silence counts from
   * the start at the earliest (the alarm's text still gives the heartbeat's own age).
   */
  private silentFor(age: number | null): number {
    return Math.min(age ?? Infinity, Date.now() - this.started);
  }

  /** The collector's feed, which tells when asking a node again is no use (see standing). */
  watchFeed(feed: FeedWatch): void {
    this.feed = feed;
  }

  async heartbeat(department: string, hb: Heartbeat): Promise<void> {
    await this.db.execute(sql`INSERT INTO centre_departments (department, heartbeat, heartbeat_at, head_seq, head_hash)
      VALUES (${department}, ${JSON.stringify(hb)}, now(), ${hb.head.seq}, ${hb.head.hash})
      ON CONFLICT (department) DO UPDATE SET heartbeat = EXCLUDED.heartbeat, heartbeat_at = now(), head_seq = EXCLUDED.head_seq, head_hash = EXCLUDED.head_hash`);
    // the counts come with the heartbeats: a reading taken before this one is not what the centre holds now
    this.reading = null;
    await this.alarms.clear(`silent:${department}`);
    await this.registry.sendTo(department, hb.keyList ?? 0).catch((err) => log.warn('key list not sent', { department, error: errorMessage(err) }));
    await this.grantList?.(department, hb.grantList ?? 0);
    // a restore the copy does not hold yet: asked for, and the heads are checked once it is in
    if (hb.restored && !(await this.restored(department, hb.restored, hb.head.seq))) return;
    await this.countersign(department, hb.head);
  }

  /**
   * A restore declared at the node that the copy does not hold yet: the node is asked for it and what
   * follows, which replaces what the restore rolled back. True once the copy holds it.
   */
  private async restored(department: string, seq: string, head: string): Promise<boolean> {
    if (!/^\d{1,18}$/.test(seq) || BigInt(seq) > BigInt(head)) return true;
    const [held] = await this.db.query<{ kind: string }>(sql`SELECT kind FROM centre_ledger WHERE department = ${department} AND seq = ${seq}`);
    if (held?.kind === 'restored') return true;
    await this.ask(department, { from: seq, to: head });
    return false;
  }

  /** The head, once the copy holds that very entry: signed by the centre (an anchor no restore of the department can move). */
  private async countersign(department: string, head: { seq: string; hash: string }): Promise<void> {
    const [signed] = await this.db.query<{ seq: string; at: string }>(sql`SELECT seq, at FROM centre_heads WHERE department = ${department} ORDER BY seq DESC LIMIT 1`);
    if (signed && BigInt(head.seq) < BigInt(signed.seq)) {
      const restored = await this.db.query(sql`SELECT 1 FROM centre_ledger WHERE department = ${department} AND kind = 'restored' AND at > ${signed.at} LIMIT 1`);
      // one such heartbeat may only be late (read just before another process of the department
      // appended, and overtaken by that one's): a ledger cut short says so at every heartbeat
      const low = (this.lowHeads.get(department) ?? 0) + 1;
      this.lowHeads.set(department, low);
      if (!restored.length && low >= 2) {
        await this.alarms.raise('ledger-break', `ledger:${department}`, `ledger of ${department}: it ends at entry ${head.seq}, but the centre countersigned entry ${signed.seq} of it (${signed.at}): cut short or rolled back`, { department });
      }
      return;
    }
    this.lowHeads.delete(department);
    if (head.seq === '0') return;
    const [held] = await this.db.query<{ hash: string }>(sql`SELECT hash FROM centre_ledger WHERE department = ${department} AND seq = ${head.seq}`);
    if (!held) return;
    if (held.hash !== head.hash) {
      const restored = await this.db.query(sql`SELECT 1 FROM centre_ledger WHERE department = ${department} AND kind = 'restored' AND seq <= ${head.seq} LIMIT 1`);
      if (!restored.length) {
        await this.alarms.raise('ledger-break', `ledger:${department}`, `ledger of ${department}: its head, entry ${head.seq}, is not the entry the centre collected: the ledger was rewritten`, { department });
      }
      return;
    }
    const at = new Date().toISOString();
    const signature = this.keyring.sign(CENTRE, `${department}\n${head.seq}\n${head.hash}\n${at}`);
    await this.db.execute(sql`INSERT INTO centre_heads (department, seq, hash, at, signature) VALUES (${department}, ${head.seq}, ${head.hash}, ${at}, ${signature}) ON CONFLICT DO NOTHING`);
  }

  /** One round of checks; each kind of alarm is raised while its condition holds and cleared when it ends. */
  async tick(): Promise<void> {
    const { alarms: limits } = this.project.config.centre!;
    const nodes = await this.db.query<{ department: string; age_ms: string | null; head_seq: string | null; asked_ms: string | null; heartbeat: Heartbeat | null }>(sql`SELECT department,
      (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms, head_seq, (extract(epoch FROM now() - asked_at) * 1000)::bigint AS asked_ms, heartbeat
      FROM centre_departments`);
    const byDept = new Map(nodes.map((n) => [n.department, n]));
    const look = { feed: await this.feed.mark(), gaps: new Map<string, string>() };
    for (const d of this.project.config.departments.keys()) {
      const n = byDept.get(d);
      const age = n?.age_ms === null || n?.age_ms === undefined ? null : Number(n.age_ms);
      if (this.silentFor(age) > limits.silentAfterMs) {
        await this.alarms.raise('node-silent', `silent:${d}`, age === null ? `node ${d} has sent no heartbeat since the centre started` : `node ${d} silent for ${Math.round(age / 1000)} s`, { department: d });
      }
      await this.askForMissing(d, n?.head_seq ?? null, n?.asked_ms === null || n?.asked_ms === undefined ? null : Number(n.asked_ms), look);
    }
    this.lastLook = look;
    for (const t of await this.targets()) {
      const subject = `${t.flow}:${t.target}`;
      // the counts live at the source: its ledger and receipts are what disagree
      if (t.counts && t.counts.problems.length) {
        if (this.disagreeing.has(subject)) await this.alarms.raise('counts', `counts:${subject}`, `flow ${t.flow} to ${t.target}: ${t.counts.problems.join('; ')}`, { department: t.source, flow: t.flow });
        this.disagreeing.add(subject);
      } else if (t.counts) {
        this.disagreeing.delete(subject);
        await this.alarms.clear(`counts:${subject}`);
      }
      if (t.lag && t.lag.p95 * 1000 > limits.lagOverMs) await this.alarms.raise('lag', `lag:${subject}`, `flow ${t.flow} to ${t.target}: p95 lag ${t.lag.p95.toFixed(1)} s is over ${limits.lagOverMs / 1000} s`, { department: t.target, flow: t.flow });
      else await this.alarms.clear(`lag:${subject}`);
    }
  }

  /** Asks a node for the entries the copy lacks, at most once per heartbeat interval, once the gap is standing. */
  private async askForMissing(department: string, head: string | null, askedMs: number | null, look: { feed: FeedMark; gaps: Map<string, string> }): Promise<void> {
    const gap = await this.copy.missing(department, head);
    if (!gap) return;
    look.gaps.set(department, gap.from);
    if (askedMs !== null && askedMs < this.project.config.centre!.heartbeatMs) return;
    if (this.standing(department, gap.from, look.feed)) await this.ask(department, gap);
  }

  /**
   * Whether a gap in a copy stands, so that only the node can fill it. The feed is one queue, in
   * which a node's entries come before the heartbeat that names them as its head; what the centre
   * asks for comes behind whatever waits in the queue then, and asking again while it waits there
   * only adds to it: a centre behind its feed would get more to do, not less. So a gap stands when
   * it begins where it began at the last look, and nothing the feed held then is still to come: no
   * message waited in the queue, and every message the collector had in hand has been taken since.
   * (An answer the node sends after that look is waited for one heartbeat interval: askForMissing.)
   */
  private standing(department: string, from: string, feed: FeedMark): boolean {
    const last = this.lastLook;
    return last !== null && last.gaps.get(department) === from && !last.feed.waiting && feed.taken >= last.feed.delivered;
  }

  private async ask(department: string, gap: { from: string; to: string }): Promise<void> {
    const request: ControlRequest = { request: 'ledger', id: `${Date.now()}`, ...gap };
    try {
      // a request the node does not take in time is asked again: it must not pile up while the node is down
      await this.publisher.publish(this.topology.controlExchange, department, Buffer.from(JSON.stringify(request)), {
        messageId: `centre:ledger:${department}:${request.id}`, contentType: 'application/json', type: 'dxg.control', expiration: String(this.project.config.centre!.heartbeatMs),
      });
      await this.db.execute(sql`UPDATE centre_departments SET asked_at = now() WHERE department = ${department}`);
      log.info('asked a node for the ledger entries the centre lacks', { department, from: gap.from, to: gap.to });
    } catch (err) {
      log.warn('cannot ask a node for its ledger entries', { department, error: errorMessage(err) });
    }
  }

  /**
   * Every flow target: counts from its source's last heartbeat, lag and rate from the collected
   * ledgers. Read at most every two seconds, and again after a heartbeat: the checks, /api/status and /metrics share a reading.
   */
  targets(): Promise<TargetView[]> {
    if (!this.reading || Date.now() - this.reading.at > READING_MS) {
      const value = this.readTargets();
      this.reading = { at: Date.now(), value };
      value.catch(() => {
        if (this.reading?.value === value) this.reading = null;
      });
    }
    return this.reading.value;
  }

  private async readTargets(): Promise<TargetView[]> {
    const state = new Map((await this.db.query<DepartmentRow>(sql`SELECT department, heartbeat, contiguous, head_seq,
      (extract(epoch FROM heartbeat_at) * 1000)::bigint AS heartbeat_ms FROM centre_departments`)).map((r) => [r.department, r]));
    const beats = new Map([...state].map(([d, r]) => [d, r.heartbeat]));
    const since = new Date(Date.now() - LAG_WINDOW_MS).toISOString();
    const lags = await this.db.query<{ flow: string; target: string; p50: number; p95: number; n: string }>(sql`SELECT a.flow, a.department AS target,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.at::timestamptz - p.at::timestamptz)) AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM a.at::timestamptz - p.at::timestamptz)) AS p95, count(*) AS n
      FROM centre_ledger a JOIN centre_ledger p ON p.message_id = a.message_id AND p.department = a.from_dept AND p.kind = 'publish'
      WHERE a.kind = 'apply' AND a.at >= ${since} GROUP BY a.flow, a.department`);
    const minute = new Date(Date.now() - 60_000).toISOString();
    const rates = await this.db.query<{ flow: string; target: string; records: string }>(sql`SELECT flow, department AS target, sum(record_count) AS records
      FROM centre_ledger WHERE kind = 'apply' AND at >= ${minute} GROUP BY flow, department`);
    const out: TargetView[] = [];
    for (const flow of this.project.flows) {
      const src = beats.get(flow.source.department)?.figures ?? null;
      for (const t of flow.targets) {
        const tgt = beats.get(t.department)?.figures ?? null;
        const counts = await this.reconcile(src?.counts.find((c) => c.flow === flow.id && c.target === t.department) ?? null, state);
        const lag = lags.find((l) => l.flow === flow.id && l.target === t.department);
        const rate = rates.find((r) => r.flow === flow.id && r.target === t.department);
        const sum = (xs: { items: number }[] | undefined) => (xs ? xs.reduce((n, x) => n + x.items, 0) : null);
        out.push({
          flow: flow.id, source: flow.source.department, target: t.department, counts,
          reconciled: counts ? counts.problems.length === 0 : null,
          lag: lag ? { p50: Number(lag.p50), p95: Number(lag.p95), envelopes: Number(lag.n) } : null,
          recordsPerSecond: rate ? Number(rate.records) / 60 : 0,
          backlog: {
            outbox: src ? src.outbox.find((o) => o.flow === flow.id)?.envelopes ?? 0 : null,
            queued: tgt ? tgt.queues.find((q) => q.flow === flow.id)?.messages ?? null : null,
            awaitingReceipt: counts?.awaitingReceipt ?? null,
          },
          quarantined: sum(src?.quarantine.filter((q) => q.stage === 'source' && q.flow === flow.id)),
          deadLetters: sum(tgt?.quarantine.filter((q) => q.stage === 'dead-letter' && q.flow === flow.id)),
        });
      }
    }
    return out;
  }

  /**
   * A source's own counts, checked against the target's ledger as the centre holds it — the check a
   * node alone cannot make. The two are taken at one moment without any clock: the target's entries
   * about the envelopes the source had published up to the head its heartbeat named, once the
   * centre's copies hold both ledgers that far and the target has spoken since the source did.
   */
  private async reconcile(reported: FlowCounts | null, state: Map<string, DepartmentRow>): Promise<FlowCounts | null> {
    if (!reported) return null;
    const c: FlowCounts = { ...reported, problems: reported.problems.filter((p) => p !== unavailable(reported.target)) };
    const src = state.get(c.source);
    const tgt = state.get(c.target);
    const comparable = src?.heartbeat && tgt?.heartbeat && tgt.head_seq !== null && BigInt(src.contiguous) >= BigInt(src.heartbeat.head.seq)
      && BigInt(tgt.contiguous) >= BigInt(tgt.head_seq) && Number(tgt.heartbeat_ms) >= Number(src.heartbeat_ms);
    if (!comparable) return c;
    const totals = await this.db.query<{ kind: string; records: string }>(sql`SELECT t.kind, sum(t.record_count) AS records FROM centre_ledger t
      WHERE t.department = ${c.target} AND t.flow = ${c.flow} AND t.to_dept = ${c.target} AND t.kind IN ('apply', 'reject')
      AND t.message_id IN (SELECT p.message_id FROM centre_ledger p WHERE p.department = ${c.source} AND p.kind = 'publish' AND p.flow = ${c.flow}
        AND p.to_dept = ${c.target} AND p.seq <= ${src.heartbeat!.head.seq})
      GROUP BY t.kind`);
    const replays = await this.db.query<{ detail: string }>(sql`SELECT detail FROM centre_ledger WHERE department = ${c.target} AND kind = 'replay' AND flow = ${c.flow} AND to_dept = ${c.target}`);
    receiptsAgree(c, targetOutcomes(totals.map((t) => ({ kind: t.kind, records: Number(t.records) })), replays.map((r) => r.detail)));
    return c;
  }

  async nodes(): Promise<NodeView[]> {
    const rows = await this.db.query<{ department: string; heartbeat: Heartbeat | null; heartbeat_at: string | null; age_ms: string | null; contiguous: string; broken_seq: string | null; broken_reason: string | null }>(
      sql`SELECT department, heartbeat, heartbeat_at, (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms, contiguous, broken_seq, broken_reason FROM centre_departments`);
    const byDept = new Map(rows.map((r) => [r.department, r]));
    const silentAfter = this.project.config.centre!.alarms.silentAfterMs;
    return [...this.project.config.departments.values()].map((d) => {
      const r = byDept.get(d.id);
      const hb = r?.heartbeat ?? null;
      return {
        department: d.id, name: d.name, version: hb?.version ?? null, heartbeatAt: r?.heartbeat_at ?? null,
        silent: !r?.age_ms || Number(r.age_ms) > silentAfter, head: hb?.head ?? null, collected: r ? String(r.contiguous) : '0',
        broken: r?.broken_seq ? { seq: String(r.broken_seq), reason: r.broken_reason ?? '' } : null,
        sends: hb?.sends ?? [], receives: hb?.receives ?? [], checkpoints: hb?.figures?.checkpoints ?? [],
      };
    });
  }
}
