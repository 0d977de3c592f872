/**
 * The exchange centre (DESIGN §8) collecting every department's ledger, measured with a real
 * `dxg centre` child process. The departments are the product's own ledger code, run in the bench
 * process: `Ledger.append` (hash chain, Ed25519 signature with the department's key from
 * `dxg keys generate`) in each department's own database, inside a transaction, and on commit the
 * entries published on the exchange's audit feed as the department's own broker user (so the
 * centre's collector believes them). The centre gets exactly what nodes send it; only the flows
 * around the ledger are not run (see bench/README.md).
 */
import amqp from 'amqplib';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { sql, type Database } from '../adapters';
import { Broker } from '../gateway/broker/connection';
import { departmentUrl } from '../gateway/broker/credentials';
import { Publisher } from '../gateway/broker/publisher';
import { Topology } from '../gateway/broker/topology';
import type { ExchangeConfig } from '../gateway/config/model';
import { loadProject } from '../gateway/config/project';
import { Keyring } from '../gateway/envelope/keys';
import { publishFeedEvent } from '../gateway/ledger/feed';
import { Ledger, type LedgerEntry, type StoredEntry } from '../gateway/ledger/ledger';
import { usccFor } from './data';
import { BenchExchange, type DxgChild } from './exchange';
import { CostMeter, memoryOf, type CostReport } from './proc';
import { BROKER_URL, open, type Databases, type Db } from './services';

const TITLES = ['市场监督管理局', '税务局', '人力资源和社会保障局', '公安局', '民政局', '自然资源和规划局', '生态环境局', '住房和城乡建设局', '交通运输局', '水务管理局',
  '农业农村局', '商务局', '文化和旅游局', '卫生健康委员会', '应急管理局', '审计局', '统计局', '医疗保障局', '教育局', '财政局'];

type Say = (msg: string) => void;
const fmt = (n: number) => n.toLocaleString('en');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** What the departments' ledgers look like. */
export interface CentreShape {
  departments: number;
  /** entries appended per transaction, so per audit-feed message */
  batch: number;
  /** record keys each publish and apply entry names (receipts name none) */
  keysPerEntry: number;
}

/** Percentiles in ms; null where the value is not known (it lies among values that never arrived, counted as Infinity). */
export interface Percentiles {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** of the values that are known */
  meanMs: number | null;
}

export function percentiles(values: number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  const r = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10) / 10);
  const at = (q: number) => r(v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)]);
  const known = v.filter(Number.isFinite);
  return { count: v.length, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), maxMs: r(v[v.length - 1]), meanMs: known.length ? r(known.reduce((a, b) => a + b, 0) / known.length) : null };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A message id as the gateway's (a UUID), deterministic per rig, department and message. */
function messageId(salt: string, department: string, n: number): string {
  const h = createHash('sha256').update(`${salt}:${department}:${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * One department as its node writes its ledger: the product's Ledger over its own database, the
 * committed entries on the audit feed. The feed is the product's publishFeedEvent with auditFeed's
 * event, routing key and message id; unlike auditFeed (fire and forget, best effort) the bench keeps
 * each broker confirm, so it knows every entry was handed to the broker.
 */
class DepartmentLedger {
  private made = 0;
  private readonly pending = new Set<Promise<void>>();
  readonly failures: string[] = [];
  private ledger!: Ledger;

  private constructor(
    readonly id: string,
    private readonly index: number,
    private readonly prev: { id: string; index: number },
    private readonly next: string,
    readonly db: Database,
    private readonly broker: Broker,
    private readonly publisher: Publisher,
    private readonly shape: CentreShape,
    private readonly salt: string,
  ) {}

  static async open(config: ExchangeConfig, keyring: Keyring, topology: Topology, ids: string[], i: number, db: Db, shape: CentreShape, salt: string): Promise<DepartmentLedger> {
    const id = ids[i];
    const user = topology.user(id);
    const database = await open(db, 1);
    const broker = await Broker.connect(departmentUrl(config, id, user), `bench ${id}`, false, config.broker.ca);
    const publisher = new Publisher(broker, user);
    await publisher.start();
    const p = (i + ids.length - 1) % ids.length;
    const d = new DepartmentLedger(id, i, { id: ids[p], index: p }, ids[(i + 1) % ids.length], database, broker, publisher, shape, salt);
    d.ledger = new Ledger(keyring, id, (entries) => d.feed(topology, entries));
    await d.ledger.load(database);
    return d;
  }

  private feed(topology: Topology, entries: StoredEntry[]): void {
    const published = publishFeedEvent(this.publisher, topology, { type: 'entries', department: this.id, entries }, `${this.id}:ledger:${entries[0].seq}+${entries.length}`)
      .catch((err: Error) => {
        this.failures.push(`${this.id} entries ${entries[0].seq}+${entries.length}: ${err.message}`);
      });
    this.pending.add(published);
    void published.finally(() => this.pending.delete(published));
  }

  get head(): { seq: string; hash: string } {
    return this.ledger.head;
  }

  /** Record keys of message `n` of department `index`: valid 统一社会信用代码, each department its own records. */
  private keys(index: number, n: number): string[] {
    const k = this.shape.keysPerEntry;
    return Array.from({ length: k }, (_, j) => usccFor((index * 4_999_999 + n * k + j) % 100_000_000, '370200'));
  }

  /**
   * The next entry of the department's mix, as the gateway writes them: the publish of a message to
   * the next department (its keys), the apply of the previous department's message of the same
   * number (the same keys), the receipt for its own message.
   */
  private entry(): LedgerEntry {
    const n = this.made++;
    const m = Math.floor(n / 3);
    const k = this.shape.keysPerEntry;
    if (n % 3 === 0) {
      const id = messageId(this.salt, this.id, m);
      return { kind: 'publish', flow: `share-${this.id}`, messageId: id, from: this.id, to: this.next, count: k, digest: sha256(id), keys: this.keys(this.index, m), detail: { sequence: m + 1, bytes: k * 440 } };
    }
    if (n % 3 === 1) {
      const id = messageId(this.salt, this.prev.id, m);
      return { kind: 'apply', flow: `share-${this.prev.id}`, messageId: id, from: this.prev.id, to: this.id, count: k, digest: sha256(`body ${id}`), keys: this.keys(this.prev.index, m), detail: { sequence: m + 1, written: k, superseded: 0 } };
    }
    const id = messageId(this.salt, this.id, m);
    return { kind: 'receipt', flow: `share-${this.id}`, messageId: id, from: this.next, to: this.id, count: k, detail: { rejected: 0, superseded: 0, receiptId: messageId(this.salt, `receipt ${this.next}`, m) } };
  }

  /** Keyed entries among the first `n` of the mix. */
  static keyed(n: number): number {
    return Math.floor(n / 3) * 2 + Math.min(n % 3, 2);
  }

  /** Appends `n` entries in one transaction; resolves after the commit with their sequence numbers and the commit time (ms since epoch). */
  async commit(n: number): Promise<{ first: number; last: number; at: number }> {
    const entries = Array.from({ length: n }, () => this.entry());
    const stored = await this.db.transaction((tx) => this.ledger.append(tx, entries));
    const at = Date.now();
    if (this.pending.size >= 512) await Promise.race(this.pending);
    return { first: Number(stored[0].seq), last: Number(stored[stored.length - 1].seq), at };
  }

  /** Every entry published so far is confirmed by the broker (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.publisher.stop().catch(() => undefined);
    await this.broker.close().catch(() => undefined);
    await this.db.close().catch(() => undefined);
  }
}

/**
 * An exchange of `departments` PostgreSQL department databases (dxg init: bookkeeping tables,
 * broker users and exchanges) with a centre (its own database), the departments' ledgers written
 * through the product's code, and `dxg centre` run as a child process.
 */
export class CentreRig {
  private nodes: DepartmentLedger[] = [];
  centre: DxgChild | null = null;

  private constructor(
    readonly exchange: BenchExchange,
    readonly centreDb: Db,
    readonly departmentDbs: Db[],
    readonly port: number,
    readonly shape: CentreShape,
    private readonly dbs: Databases,
  ) {}

  static async create(o: { dbs: Databases; runId: string; tag: string; shape: CentreShape; dxg: string; profileDir?: string; say: Say }): Promise<CentreRig> {
    const ids = Array.from({ length: o.shape.departments }, (_, i) => `d${String(i + 1).padStart(2, '0')}`);
    const departments: Record<string, { title: string; db: Db }> = {};
    for (const [i, id] of ids.entries()) departments[id] = { title: TITLES[i] ?? `部门${i + 1}`, db: await o.dbs.create('postgres', `${o.tag}_${id}`) };
    const centreDb = await o.dbs.create('postgres', `${o.tag}_centre`);
    const exchange = new BenchExchange(`dxgb-${o.runId}-${o.tag}`, departments, [], ids[0], o.dxg, o.profileDir);
    const rig = new CentreRig(exchange, centreDb, Object.values(departments).map((d) => d.db), await freePort(), o.shape, o.dbs);
    exchange.addCentre({ db: centreDb, port: rig.port });
    o.say(`${o.tag}: ${ids.length} department databases (${ids[0]} … ${ids[ids.length - 1]}), centre database ${centreDb.name}; dxg keys generate, dxg init`);
    await exchange.setUp();
    return rig;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get totalDepartments(): number {
    return this.departmentDbs.length;
  }

  /** Opens every department's ledger (database, broker connection as its user, head). */
  async openLedgers(): Promise<void> {
    const { project, problems } = loadProject(this.exchange.config);
    if (!project) throw new Error(`the bench exchange does not load: ${problems.map((p) => p.message).join('; ')}`);
    const { config } = project;
    const keyring = new Keyring(config.dirs.keys);
    const topology = Topology.of(config);
    const ids = [...config.departments.keys()];
    const salt = this.exchange.name;
    this.nodes = await Promise.all(ids.map((_, i) => DepartmentLedger.open(config, keyring, topology, ids, i, this.departmentDbs[i], this.shape, salt)));
  }

  get queue(): string {
    const { project } = loadProject(this.exchange.config);
    return Topology.of(project!.config).centreQueue;
  }

  /** Starts `dxg centre` and resolves once its /ready answers 200 (fails if it exits first or takes over 120 s). */
  async startCentre(name: string, meter?: CostMeter): Promise<{ child: DxgChild; readySeconds: number }> {
    const t0 = performance.now();
    // info: its log then says when it was up, asked a node for entries, began and ended stopping
    const child = this.exchange.start(name, ['centre'], { meter, logLevel: 'info' });
    this.centre = child;
    let exited = false;
    void child.done.then(() => (exited = true));
    for (;;) {
      if (exited) {
        const r = await child.done;
        throw new Error(`dxg centre exited ${r.code} before it was ready\n${r.stderrTail.slice(-1500)}\n(log: ${this.exchange.logFile(name)})`);
      }
      if (await fetch(`${this.url}/ready`).then((r) => r.status === 200, () => false)) break;
      if (performance.now() - t0 > 120_000) {
        child.stop('SIGKILL');
        throw new Error(`dxg centre was not ready within 120 s (log: ${this.exchange.logFile(name)})`);
      }
      await sleep(100);
    }
    return { child, readySeconds: round((performance.now() - t0) / 1000) };
  }

  /** SIGTERM to the centre (SIGKILL after 30 s); null when it exited 0, else what happened and the end of its log. */
  async stopCentre(): Promise<string | null> {
    const c = this.centre;
    if (!c) return null;
    this.centre = null;
    c.stop('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      c.stop('SIGKILL');
    }, 30_000);
    const r = await c.done;
    clearTimeout(timer);
    if (r.code === 0 && !killed) return null;
    return `dxg centre ${killed ? 'did not exit within 30 s of SIGTERM and was killed' : `exited ${r.code} on SIGTERM`}; `
      + `its log ends: ${r.stderrTail.trim().split('\n').slice(-4).join(' | ').slice(-1200)}`;
  }

  /**
   * Appends `total` entries, shared out over the departments, as fast as they go: each department
   * one transaction after another (`batch` entries each), all departments at once. Resolves once
   * the broker confirmed every feed message.
   */
  async produce(total: number, say: Say, label: string): Promise<ProduceResult> {
    const D = this.nodes.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    let commits = 0;
    const progress = setInterval(() => say(`${label}: ${fmt(done)} / ${fmt(total)} entries appended and published`), 10_000);
    try {
      await Promise.all(this.nodes.map(async (node, i) => {
        let left = Math.floor(total / D) + (i < total % D ? 1 : 0);
        while (left > 0) {
          const n = Math.min(this.shape.batch, left);
          await node.commit(n);
          left -= n;
          done += n;
          commits++;
        }
      }));
      await Promise.all(this.nodes.map((n) => n.flush()));
    } finally {
      clearInterval(progress);
    }
    const failures = this.nodes.flatMap((n) => n.failures);
    if (failures.length) throw new Error(`${failures.length} audit feed messages were not accepted by the broker: ${failures.slice(0, 3).join('; ')}`);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { entries: total, messages: commits, wallSeconds: round(wall), entriesPerSecond: Math.round(total / wall), benchCpuSeconds: round((cpu.user + cpu.system) / 1e6, 1) };
  }

  /** Entries every department has appended, and those that name keys. */
  expected(): { entries: number; keyRows: number; heads: Map<string, { seq: string; hash: string }> } {
    let entries = 0;
    let keyRows = 0;
    const heads = new Map<string, { seq: string; hash: string }>();
    for (const n of this.nodes) {
      const seq = Number(n.head.seq);
      entries += seq;
      keyRows += DepartmentLedger.keyed(seq) * this.shape.keysPerEntry;
      heads.set(n.id, n.head);
    }
    return { entries, keyRows, heads };
  }

  /** The centre's complete, checked entries per department. */
  async collected(db: Database): Promise<{ contiguous: Map<string, number>; total: number; broken: string[] }> {
    const rows = await db.query<{ department: string; contiguous: string; broken_seq: string | null; broken_reason: string | null }>(
      sql`SELECT department, contiguous, broken_seq, broken_reason FROM centre_departments`);
    const contiguous = new Map(rows.map((r) => [r.department, Number(r.contiguous)]));
    return {
      contiguous, total: [...contiguous.values()].reduce((a, b) => a + b, 0),
      broken: rows.filter((r) => r.broken_seq).map((r) => `${r.department} at entry ${r.broken_seq}: ${r.broken_reason}`),
    };
  }

  /** Waits until the centre's copy is complete and checked up to every department's head; fails on a break or after `stallMs` without progress. */
  async waitCollected(db: Database, say: Say, label: string, stallMs = 120_000, intervalMs = 250): Promise<number> {
    const want = this.expected().entries;
    let last = -1;
    let lastChange = performance.now();
    let lastSay = performance.now();
    for (;;) {
      const c = await this.collected(db);
      if (c.broken.length) throw new Error(`${label}: the centre found a ledger break: ${c.broken.join('; ')}`);
      if (c.total >= want) return performance.now();
      if (c.total !== last) {
        last = c.total;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > stallMs) {
        throw new Error(`${label}: the centre's copy stopped at ${fmt(c.total)} of ${fmt(want)} entries for ${stallMs / 1000} s (log: ${this.exchange.logFile(this.centre?.name ?? 'centre')})`);
      }
      if (performance.now() - lastSay > 10_000) {
        lastSay = performance.now();
        say(`${label}: ${fmt(c.total)} / ${fmt(want)} entries collected and checked`);
      }
      await sleep(intervalMs);
    }
  }

  /**
   * The centre's copy equals every department's ledger: complete and checked up to each head, the
   * head's hash the same (the chain makes every entry below it the same), one row per entry, every
   * record key indexed.
   */
  async verify(db: Database): Promise<void> {
    const { entries, keyRows, heads } = this.expected();
    const rows = await db.query<{ department: string; contiguous: string; contiguous_hash: string }>(sql`SELECT department, contiguous, contiguous_hash FROM centre_departments`);
    for (const [d, head] of heads) {
      const r = rows.find((x) => x.department === d);
      if (!r || String(r.contiguous) !== head.seq || r.contiguous_hash !== head.hash) {
        throw new Error(`the centre's copy of ${d} ends at ${r?.contiguous ?? 'nothing'} (${r?.contiguous_hash?.slice(0, 12) ?? '–'}), the ledger at ${head.seq} (${head.hash.slice(0, 12)})`);
      }
    }
    const [n] = await db.query<{ entries: string; keys: string }>(sql`SELECT (SELECT count(*) FROM centre_ledger) AS entries, (SELECT count(*) FROM centre_record_keys) AS keys`);
    if (Number(n.entries) !== entries) throw new Error(`centre_ledger holds ${n.entries} entries, the departments' ledgers ${entries}`);
    if (Number(n.keys) !== keyRows) throw new Error(`centre_record_keys holds ${n.keys} rows, ${keyRows} expected`);
  }

  /** The entries' arrival in the centre (received_at: now() of the transaction that stored them), ms since epoch, for those received since `sinceMs`. */
  async receivedSince(db: Database, sinceMs: number): Promise<Map<string, number>> {
    const rows = await db.query<{ department: string; seq: string; ms: string | number }>(sql`SELECT department, seq, extract(epoch FROM received_at) * 1000 AS ms
      FROM centre_ledger WHERE received_at >= to_timestamp(${sinceMs / 1000 - 5})`);
    return new Map(rows.map((r) => [`${r.department}:${r.seq}`, Number(r.ms)]));
  }

  /**
   * Appends `rate` entries a second in all for `seconds` (each department rate/D, `batch` entries a
   * transaction, due transactions one after another), calling `onCommit` after each commit.
   */
  async paced(rate: number, seconds: number, onCommit: (dept: string, c: { first: number; last: number; at: number }) => void, say: Say): Promise<{ entries: number; commits: number; seconds: number }> {
    const D = this.nodes.length;
    const perDept = rate / D;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let entries = 0;
    let commits = 0;
    const progress = setInterval(() => say(`centre-lag: ${fmt(entries)} entries appended (${fmt(Math.round(entries / ((performance.now() - t0) / 1000)))}/s)`), 10_000);
    try {
      await Promise.all(this.nodes.map(async (node, i) => {
        // the departments start spread over one commit interval, not all at the same instant
        const offset = ((i / D) * this.shape.batch * 1000) / perDept;
        let done = 0;
        for (;;) {
          const now = performance.now();
          if (now >= end) break;
          const due = Math.floor(((now - t0 - offset) / 1000) * perDept) - done;
          if (due < this.shape.batch) {
            await sleep(Math.max(1, t0 + offset + ((done + this.shape.batch) / perDept) * 1000 - now));
            continue;
          }
          const c = await node.commit(this.shape.batch);
          onCommit(node.id, c);
          done += this.shape.batch;
          entries += this.shape.batch;
          commits++;
        }
      }));
      await Promise.all(this.nodes.map((n) => n.flush()));
    } finally {
      clearInterval(progress);
    }
    const failures = this.nodes.flatMap((n) => n.failures);
    if (failures.length) throw new Error(`${failures.length} audit feed messages were not accepted by the broker: ${failures.slice(0, 3).join('; ')}`);
    return { entries, commits, seconds: (performance.now() - t0) / 1000 };
  }

  /** Messages in the centre's queue (ready, not yet delivered). */
  async queued(): Promise<number> {
    const conn = await amqp.connect(BROKER_URL);
    try {
      const ch = await conn.createChannel();
      const q = await ch.checkQueue(this.queue);
      await ch.close();
      return q.messageCount;
    } finally {
      await conn.close();
    }
  }

  async closeLedgers(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
    this.nodes = [];
  }

  /** Stops the centre (and any other child) and closes the departments' ledgers. */
  async stopProcesses(): Promise<void> {
    await this.stopCentre().catch(() => undefined);
    await this.exchange.stopAll();
    await this.closeLedgers();
  }

  /** What destroy removes, for the cleanup list and --keep. */
  get description(): string {
    return `exchange ${this.exchange.name} on the broker, its temp dir ${this.exchange.dir}, databases ${this.centreDb.name} and ${this.departmentDbs.length} department databases`;
  }

  /** Stops the processes, takes the exchange off the broker, deletes the temp dir and drops the databases (with `keep`: only says what it keeps). */
  async destroy(keep: boolean, say: Say): Promise<void> {
    await this.stopProcesses();
    if (keep) {
      say(`kept: ${this.description}`);
      return;
    }
    await this.exchange.removeTopology().catch((err) => say(`could not remove ${this.exchange.name} from the broker: ${(err as Error).message}`));
    rmSync(this.exchange.dir, { recursive: true, force: true });
    for (const d of [this.centreDb, ...this.departmentDbs]) await this.dbs.drop(d).catch((err) => say(`could not drop ${d.name}: ${(err as Error).message}`));
  }
}

export interface ProduceResult {
  entries: number;
  /** transactions, so audit-feed messages */
  messages: number;
  wallSeconds: number;
  entriesPerSecond: number;
  /** CPU of the bench process meanwhile: the departments' ledger code (signing, SQL, publishing) */
  benchCpuSeconds: number;
}

export interface DrainResult {
  entries: number;
  keyRows: number;
  messages: number;
  /** spawn of dxg centre until its /ready answered */
  readySeconds: number;
  /** spawn of dxg centre until its copy was complete and checked */
  wallSeconds: number;
  entriesPerSecond: number;
  /** the same, from /ready on (start-up not counted) */
  entriesPerSecondAfterReady: number;
  cost: CostReport;
  /** VmHWM of the centre process when a tenth of the entries was collected, and at the end */
  peakRssAtTenthMiB: number | null;
  peakRssMiB: number;
  centreCpuSeconds: number;
}

/**
 * A backlog drained: `entries` appended by the departments while the centre is down (the feed's
 * messages wait in its queue), then `dxg centre` started and timed until its copy of every ledger
 * is complete and checked (chain and signature of every entry), and compared with the ledgers.
 */
export async function drain(rig: CentreRig, entries: number, admin: Database, say: Say, label: string): Promise<{ produce: ProduceResult; drain: DrainResult }> {
  // the centre's first start makes its schema and queue (bound to the audit feed); then it stops
  await rig.startCentre(`${label}-setup`);
  const stopped = await rig.stopCentre();
  if (stopped) throw new Error(`${label}: ${stopped}`);
  await rig.openLedgers();
  say(`${label}: the departments append ${fmt(entries)} entries (${rig.shape.batch} a transaction, ${rig.shape.keysPerEntry} keys in each publish and apply) while the centre is down`);
  const produced = await rig.produce(entries, say, label);
  say(`${label}: ${fmt(entries)} entries in ${fmt(produced.messages)} feed messages appended and published in ${produced.wallSeconds.toFixed(1)} s = ${fmt(produced.entriesPerSecond)}/s`);
  const waitFrom = performance.now();
  while ((await rig.queued()) < produced.messages) {
    if (performance.now() - waitFrom > 60_000) throw new Error(`${label}: the centre's queue holds ${await rig.queued()} messages, ${produced.messages} published`);
    await sleep(200);
  }
  const expected = rig.expected();
  const db = await open(rig.centreDb, 1);
  try {
    const meter = new CostMeter(admin, [rig.centreDb.name]);
    await meter.ready();
    say(`${label}: dxg centre started on a backlog of ${fmt(produced.messages)} messages`);
    const t0 = performance.now();
    const { child, readySeconds } = await rig.startCentre(label, meter);
    let tenth: number | null = null;
    const watchTenth = setInterval(() => {
      void rig.collected(db).then((c) => {
        if (tenth === null && c.total >= expected.entries / 10) tenth = memoryHwm(child.pid);
      }, () => undefined);
    }, 250);
    let t1: number;
    try {
      t1 = await rig.waitCollected(db, say, label);
    } finally {
      clearInterval(watchTenth);
    }
    meter.sample();
    const cost = meter.stop();
    await rig.verify(db);
    const wall = (t1 - t0) / 1000;
    const centre = cost.processes.find((p) => p.pid === child.pid);
    return {
      produce: produced,
      drain: {
        entries: expected.entries, keyRows: expected.keyRows, messages: produced.messages, readySeconds, wallSeconds: round(wall),
        entriesPerSecond: Math.round(expected.entries / wall), entriesPerSecondAfterReady: Math.round(expected.entries / (wall - readySeconds)),
        cost, peakRssAtTenthMiB: tenth, peakRssMiB: centre?.peakRssMiB ?? cost.peakRssMiB, centreCpuSeconds: round(cost.gatewayCpuSeconds, 2),
      },
    };
  } finally {
    await db.close();
  }
}

function memoryHwm(pid: number): number | null {
  const m = memoryOf(pid);
  return m ? Math.round((m.hwmKiB / 1024) * 10) / 10 : null;
}

export interface CentreLagResult {
  rateTarget: number;
  seconds: number;
  entries: number;
  commits: number;
  achievedRate: number;
  /**
   * commit at the department → stored in the centre (centre_ledger.received_at: now() of the storing
   * transaction); entries not stored by the end count as never (null percentiles where they lie)
   */
  stored: Percentiles;
  /** commit at the department → complete and checked in the centre's copy (centre_departments.contiguous past it; polled every pollMs) */
  checked: Percentiles;
  pollMs: number;
  /** how long the bench waited after the departments stopped for the centre to catch up */
  waitSeconds: number;
  /** entries not in the centre's checked copy at the end of that wait (behind, not lost: see queuedAfter) */
  behind: number;
  /** messages still in the centre's queue then */
  queuedAfter: number;
  /** centre_ledger rows when the paced run began */
  centreHeldBefore: number;
  cost: CostReport;
  benchCpuSeconds: number;
  centreCpuSeconds: number;
}

/**
 * Lag at a steady rate: the departments append `rate` entries a second in all while the centre
 * runs; each entry is timed from its commit (the bench's clock right after COMMIT returned) to its
 * storing in the centre and to the moment the centre's checked copy reached it.
 */
export async function centreLag(rig: CentreRig, o: { rate: number; seconds: number; admin: Database; say: Say }): Promise<CentreLagResult> {
  const { say } = o;
  const db = await open(rig.centreDb, 1);
  const pollMs = 25;
  try {
    const [held] = await db.query<{ n: string }>(sql`SELECT count(*) AS n FROM centre_ledger`);
    const commitAt = new Map<string, number>();
    const checkedAt = new Map<string, number>();
    const last = new Map<string, number>((await rig.collected(db)).contiguous);
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        const c = await rig.collected(db);
        const at = Date.now();
        for (const [d, upTo] of c.contiguous) {
          for (let s = (last.get(d) ?? 0) + 1; s <= upTo; s++) checkedAt.set(`${d}:${s}`, at);
          last.set(d, Math.max(last.get(d) ?? 0, upTo));
        }
        await sleep(Math.max(0, pollMs - (performance.now() - t)));
      }
    })();
    const meter = new CostMeter(o.admin, [rig.centreDb.name, ...rig.departmentDbs.map((d) => d.name)]);
    await meter.ready();
    if (rig.centre) meter.watch(rig.centre.pid, rig.centre.name, true);
    const cpu0 = process.cpuUsage();
    const since = Date.now();
    say(`centre-lag: the departments append ${fmt(o.rate)} entries/s for ${o.seconds} s (${rig.shape.batch} a transaction)`);
    let w: { entries: number; commits: number; seconds: number };
    try {
      w = await rig.paced(o.rate, o.seconds, (d, c) => {
        for (let s = c.first; s <= c.last; s++) commitAt.set(`${d}:${s}`, c.at);
      }, say);
    } catch (err) {
      polling = false;
      await poller;
      throw err;
    }
    const cpu = process.cpuUsage(cpu0);
    // every entry in, or 120 s
    const waitFrom = performance.now();
    const behindNow = () => [...commitAt.keys()].filter((k) => !checkedAt.has(k)).length;
    if (behindNow()) say(`centre-lag: the departments stopped; ${fmt(behindNow())} entries not yet in the centre's checked copy, waiting up to 120 s`);
    while (performance.now() - waitFrom < 120_000 && behindNow()) await sleep(250);
    const waitSeconds = round((performance.now() - waitFrom) / 1000, 1);
    polling = false;
    await poller;
    const cost = meter.stop();
    const queuedAfter = await rig.queued();
    const received = await rig.receivedSince(db, since);
    const stored: number[] = [];
    const checked: number[] = [];
    let behind = 0;
    for (const [k, at] of commitAt) {
      const r = received.get(k);
      stored.push(r === undefined ? Infinity : r - at);
      const c = checkedAt.get(k);
      if (c === undefined) behind++;
      checked.push(c === undefined ? Infinity : c - at);
    }
    const centre = rig.centre ? cost.processes.find((p) => p.pid === rig.centre!.pid) : undefined;
    return {
      rateTarget: o.rate, seconds: round(w.seconds, 1), entries: w.entries, commits: w.commits, achievedRate: Math.round(w.entries / w.seconds),
      stored: percentiles(stored), checked: percentiles(checked), pollMs, waitSeconds, behind, queuedAfter, centreHeldBefore: Number(held.n), cost,
      benchCpuSeconds: round((cpu.user + cpu.system) / 1e6, 1), centreCpuSeconds: round(centre?.cpuSeconds ?? 0, 2),
    };
  } finally {
    await db.close();
  }
}

export interface CentreMemoryRun {
  entries: number;
  drainSeconds: number;
  entriesPerSecond: number;
  peakRssMiB: number;
  centreCpuSeconds: number;
}
