import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql, type Sql } from '../../adapters/sql';
import { Random } from '../../gateway/demo/random';
import { sleep } from '../../gateway/time';
import { createMysql, createPostgres, MYSQL_SERVER, PG_SERVER, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';
import type { GatewayCopy } from './gateway-copy';
import { NodeProcess } from './nodes';
import type { PrivateBroker } from './private-broker';
import { TcpProxy } from './proxy';
import { createQsTable, createRegistry, createTaxTable, enterprise, type Enterprise, indicatorSet, insertEnterprises, RESOURCE, registryFlow, type FlowOptions } from './registry';

export interface HarnessOptions {
  /** the case's name: its temp dir and database names */
  name: string;
  /** the suite's private broker, or a private cluster (its url then lists every node) */
  broker: Pick<PrivateBroker, 'url' | 'adminUrl'>;
  /** the suite's temp dir; the case gets a folder in it */
  dir: string;
  seed: number;
  /** the target databases are reached through TCP proxies that can cut them off */
  proxied?: boolean;
  source?: 'postgres' | 'mysql';
  flow?: FlowOptions;
  /** the gateway build the nodes and commands run */
  gateway: GatewayCopy;
}

const run = promisify(execFile);

/** The one number a `SELECT count(*) AS n …` finds. */
const count = async (db: TestDatabase, statement: Sql): Promise<number> => Number((await db.query<{ n: string | number }>(statement))[0]?.n ?? 0);

/**
 * One exchange under test: a registry at market regulation (amr, the source) flowing to quality
 * supervision (qs, PostgreSQL, every indicator) and tax (MariaDB, two enterprise types, status
 * through a code table), each database its own, on the suite's private broker. The source node and
 * the target nodes run as separate `dxg up` processes.
 */
export class FaultExchange {
  readonly rand: Random;
  readonly proxies: TcpProxy[] = [];
  readonly dir: string;
  private nextIndex = 0;
  /** the credit codes of every row generated so far, in order */
  readonly keys: string[] = [];
  source!: NodeProcess;
  target!: NodeProcess;
  ex!: TestExchange;

  private constructor(
    readonly options: HarnessOptions,
    readonly src: TestDatabase,
    readonly qs: TestDatabase,
    readonly tax: TestDatabase,
  ) {
    this.rand = new Random(options.seed);
    this.dir = join(options.dir, options.name);
    mkdirSync(this.dir, { recursive: true });
  }

  static async create(options: HarnessOptions): Promise<FaultExchange> {
    const tag = options.name.replace(/[^a-z0-9]/gi, '').slice(0, 8).toLowerCase();
    const dbs = await Promise.allSettled([
      options.source === 'mysql' ? createMysql(`${tag}_amr`) : createPostgres(`${tag}_amr`),
      createPostgres(`${tag}_qs`),
      createMysql(`${tag}_tax`),
    ]);
    const failed = dbs.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed) {
      await Promise.all(dbs.map((d) => (d.status === 'fulfilled' ? d.value.drop().catch(() => undefined) : undefined)));
      throw failed.reason;
    }
    const [src, qs, tax] = dbs.map((d) => (d as PromiseFulfilledResult<TestDatabase>).value);
    const fx = new FaultExchange(options, src, qs, tax);
    try {
      await fx.setUp();
    } catch (err) {
      await fx.destroy();
      throw err;
    }
    return fx;
  }

  private async setUp(): Promise<void> {
    await Promise.all([createRegistry(this.src), createQsTable(this.qs), createTaxTable(this.tax)]);
    let qsUrl = this.qs.url;
    let taxUrl = this.tax.url;
    if (this.options.proxied) {
      qsUrl = await this.proxy(PG_SERVER, this.qs.name);
      taxUrl = await this.proxy(MYSQL_SERVER, this.tax.name);
    }
    this.ex = new TestExchange(
      { amr: { driver: this.src.driver, url: this.src.url }, qs: { driver: 'postgres', url: qsUrl }, tax: { driver: 'mysql', url: taxUrl } },
      { registry: registryFlow(this.options.flow) },
      { [RESOURCE]: indicatorSet() },
      { brokerUrl: this.options.broker.url, brokerAdmin: this.options.broker.adminUrl },
    );
    for (const args of [['keys', 'generate'], ['init']]) {
      const r = await this.dxg(...args);
      if (r.code !== 0) throw new Error(`dxg ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    const { gateway } = this.options;
    this.source = new NodeProcess('source node (amr)', this.ex.config, ['amr'], join(this.dir, 'source.log'), this.ex.dir, gateway);
    this.target = new NodeProcess('target nodes (qs, tax)', this.ex.config, ['qs', 'tax'], join(this.dir, 'target.log'), this.ex.dir, gateway);
  }

  /** Runs `dxg --config <the exchange> …args` (the suite's copy); never rejects on the exit code. */
  async dxg(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const { dxg, env } = this.options.gateway;
    try {
      const { stdout, stderr } = await run(process.execPath, [dxg, '--config', this.ex.config, ...args], {
        cwd: this.ex.dir, env: { ...env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: 'warn' }, maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  }

  /** A proxy in front of a database server; returns the database's URL through it. */
  private async proxy(server: string, database: string): Promise<string> {
    const url = new URL(server);
    const proxy = await TcpProxy.start(url.hostname, Number(url.port));
    this.proxies.push(proxy);
    url.port = String(proxy.port);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** Generates `n` more enterprises and inserts them (chunks of `chunk` rows, one transaction each). */
  async load(n: number, chunk = 5000): Promise<void> {
    await insertEnterprises(this.src, this.generate(n), chunk);
  }

  /** `n` new enterprises (not yet inserted), their keys remembered. */
  generate(n: number): Enterprise[] {
    const rows = Array.from({ length: n }, () => enterprise(this.rand, this.nextIndex++));
    this.keys.push(...rows.map((r) => r.credit_code));
    return rows;
  }

  async startNodes(): Promise<void> {
    await Promise.all([this.source.start(), this.target.start()]);
  }

  /** Rows in the qs target now (read directly, not through any proxy). */
  async targetCount(): Promise<number> {
    return count(this.qs, sql`SELECT count(*) AS n FROM qs_enterprise`);
  }

  /**
   * The target node's connections to the qs database (the node names them after its department), or
   * only those inside a transaction.
   */
  qsSessions(inTransaction = false): Promise<number> {
    const open = inTransaction ? sql` AND xact_start IS NOT NULL` : sql``;
    return count(this.qs, sql`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dxg qs'${open}`);
  }

  /** Waits until the qs target holds at least `n` rows. */
  async whenTargetHolds(n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.targetCount()) < n) {
      if (Date.now() > deadline) throw new Error(`the qs target did not reach ${n} rows within ${timeoutMs / 1000} s`);
      await sleep(200);
    }
  }

  /** Waits until the source has extracted every row and its outbox is empty (all published). */
  async whenExtracted(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.pending();
      if (p.behind === 0 && p.outbox === 0) return;
      if (Date.now() > deadline) throw new Error(`the source did not extract everything within ${timeoutMs / 1000} s: ${JSON.stringify(p)}`);
      await sleep(200);
    }
  }

  /**
   * Waits until the flow has nothing left to do: the checkpoint is past every source row, the source
   * outbox is empty and every envelope published has its receipt; and stays so for two polls.
   */
  async converge(options: { timeoutMs?: number; stallMs?: number; reconciledAfter?: string } = {}): Promise<{ ms: number; quietSince: string }> {
    // a hang is what stallMs catches; the whole wait only bounds a machine too loaded to finish (DXG_FAULTS_CONVERGE_S)
    const { timeoutMs = Number(process.env.DXG_FAULTS_CONVERGE_S ?? 300) * 1000, stallMs = 45_000, reconciledAfter } = options;
    const started = Date.now();
    let quiet = 0;
    let quietSince = '';
    let last = '';
    let changed = Date.now();
    while (quiet < 2) {
      const s = await this.pending();
      const reconciled = reconciledAfter === undefined || (await this.reconciledSince(reconciledAfter));
      const now = JSON.stringify({ ...s, reconciled });
      if (now !== last) changed = Date.now();
      last = now;
      const before = new Date().toISOString();
      quiet = s.behind === 0 && s.outbox === 0 && s.awaitingReceipt === 0 && s.targetOutbox === 0 && reconciled ? quiet + 1 : 0;
      if (quiet === 1) quietSince = before;
      // a node's statement running for half a minute is a hang, and so is nothing moving for stallMs: say so at once
      const hung = Date.now() - started > 30_000 ? await this.slowStatements(30) : [];
      const stalled = Date.now() - changed > stallMs;
      if (hung.length || stalled || Date.now() - started > timeoutMs) {
        const slow = hung.length ? hung : await this.slowStatements();
        throw new Error(`no convergence within ${Math.round((Date.now() - started) / 1000)} s${stalled ? ` (nothing moved for ${stallMs / 1000} s)` : ''}; last: ${last}`
          + `${slow.length ? `\nstatements running for long:\n${slow.join('\n')}` : ''}\n${await this.diagnose()}`);
      }
      if (quiet < 2) await sleep(1000);
    }
    return { ms: Date.now() - started, quietSince };
  }

  /** What is still in flight, from the bookkeeping tables. */
  async pending(): Promise<{ behind: number; outbox: number; awaitingReceipt: number; targetOutbox: number }> {
    const [cp] = await this.src.query<{ position: string | null }>(sql`SELECT position FROM dxg_checkpoint WHERE flow = 'registry'`);
    const position = cp?.position ? (JSON.parse(cp.position) as { watermark: string; key: string[] }) : null;
    const after = position ? sql` WHERE (updated_at, credit_code) > (${position.watermark}, ${position.key[0]})` : sql``;
    const outbox = sql`SELECT count(*) AS n FROM dxg_outbox`;
    return {
      behind: await count(this.src, sql`SELECT count(*) AS n FROM ent_registry${after}`),
      outbox: await count(this.src, outbox),
      // envelopes of records, and the closing parts of reconciliations (the scheduled ones keep coming)
      awaitingReceipt: await count(this.src, sql`SELECT count(*) AS n FROM dxg_ledger l WHERE (kind = 'publish' OR (kind = 'reconcile' AND detail LIKE '%"last":true%'))
        AND NOT EXISTS (SELECT 1 FROM dxg_receipts r WHERE r.message_id = l.message_id)`),
      targetOutbox: (await count(this.qs, outbox)) + (await count(this.tax, outbox)),
    };
  }

  /** What is stuck: envelopes left in outboxes, and what the target ledgers say of messages without a receipt. */
  async diagnose(): Promise<string> {
    const lines: string[] = [];
    try {
      for (const [name, db] of [['amr', this.src], ['qs', this.qs], ['tax', this.tax]] as const) {
        const rows = await db.query<{ message_id: string; kind: string; to_dept: string; created_at: string }>(
          sql`SELECT message_id, kind, to_dept, created_at FROM dxg_outbox ORDER BY created_at`);
        for (const r of rows.slice(0, 5)) lines.push(`  ${name} outbox: ${r.kind} ${r.message_id} to ${r.to_dept}, committed ${r.created_at}`);
      }
      const waiting = await this.src.query<{ message_id: string; to_dept: string }>(sql`SELECT message_id, to_dept FROM dxg_ledger l WHERE kind = 'publish'
        AND NOT EXISTS (SELECT 1 FROM dxg_receipts r WHERE r.message_id = l.message_id)`);
      for (const w of waiting.slice(0, 5)) {
        const db = w.to_dept === 'qs' ? this.qs : this.tax;
        const seen = await db.query<{ kind: string; at: string }>(sql`SELECT kind, at FROM dxg_ledger WHERE message_id = ${w.message_id} ORDER BY seq`);
        const inbox = await count(db, sql`SELECT count(*) AS n FROM dxg_inbox WHERE message_id = ${w.message_id}`);
        lines.push(`  no receipt for ${w.message_id} (to ${w.to_dept}): inbox ${inbox ? 'has it' : 'lacks it'}; its ledger: ${seen.map((e) => `${e.kind} ${e.at}`).join(', ') || 'nothing'}`);
      }
    } catch (err) {
      lines.push(`  (diagnosis failed: ${(err as Error).message})`);
    }
    return lines.length ? `stuck:\n${lines.join('\n')}` : '';
  }

  /**
   * Whether a reconciliation whose first part was sent at or after `since` (ISO time) has closed at
   * both targets, with receipts.
   */
  async reconciledSince(since: string): Promise<boolean> {
    const parts = await this.src.query<{ to_dept: string; detail: string; receipt: string | null }>(
      sql`SELECT l.to_dept, l.detail, r.message_id AS receipt FROM dxg_ledger l LEFT JOIN dxg_receipts r ON r.message_id = l.message_id
        WHERE l.kind = 'reconcile' AND l.at >= ${since}`);
    const runs = new Map<string, { first: boolean; closed: boolean }>();
    for (const part of parts) {
      const d = JSON.parse(part.detail) as { run: string; part: number; last: boolean };
      const run = runs.get(`${d.run}/${part.to_dept}`) ?? { first: false, closed: false };
      if (d.part === 0) run.first = true;
      if (d.last && part.receipt) run.closed = true;
      runs.set(`${d.run}/${part.to_dept}`, run);
    }
    const done = [...runs].filter(([, r]) => r.first && r.closed).map(([k]) => k.split('/')[1]);
    return done.includes('qs') && done.includes('tax');
  }

  /** Statements of the nodes running for more than `seconds` in any of the three databases (what a hang waits on). */
  async slowStatements(seconds = 10): Promise<string[]> {
    const out: string[] = [];
    for (const [name, db] of [['amr', this.src], ['qs', this.qs], ['tax', this.tax]] as const) {
      try {
        const rows = db.driver === 'postgres'
          ? await db.query<{ secs: string; wait: string | null; query: string }>(sql`SELECT round(extract(epoch FROM now() - query_start))::text AS secs,
              wait_event_type || '/' || wait_event AS wait, query FROM pg_stat_activity
              WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND now() - query_start > make_interval(secs => ${seconds})`)
          : await db.query<{ secs: string; wait: string | null; query: string }>(sql`SELECT CAST(time AS CHAR) AS secs, state AS wait, info AS query
              FROM information_schema.processlist WHERE db = DATABASE() AND command = 'Query' AND id <> CONNECTION_ID() AND time > ${seconds}`);
        for (const r of rows) out.push(`  ${name}: ${r.secs} s${r.wait ? ` (${r.wait})` : ''}: ${r.query.replace(/\s+/g, ' ').slice(0, 300)}`);
      } catch (err) {
        out.push(`  ${name}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  get nodes(): NodeProcess[] {
    return [this.source, this.target].filter(Boolean);
  }

  /** Logs of the nodes, the last lines of each (printed when a case fails). */
  logTails(lines = 25): string {
    return this.nodes.map((n) => `--- ${n.label}: ${n.logFile}\n${n.tail(lines)}`).join('\n');
  }

  /** Stops the nodes and proxies and drops the databases; safe to call twice and after failures. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(10_000).catch(() => undefined)));
    await Promise.all(this.proxies.splice(0).map((p) => p.close().catch(() => undefined)));
    if (process.env.DXG_KEEP) {
      process.stdout.write(`kept databases ${this.src.name}, ${this.qs.name}, ${this.tax.name} and ${this.dir}\n`);
      await Promise.all([this.src, this.qs, this.tax].map((db) => db.close().catch(() => undefined)));
      return;
    }
    await Promise.all([this.src, this.qs, this.tax].map((db) => db.drop().catch(() => undefined)));
  }
}
