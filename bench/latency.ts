/**
 * Incremental latency: `dxg up` runs the flows continuously (one node process per department, as
 * deployed), a writer makes changes at a steady rate on the source, and every change is timed from
 * its source commit (the writer's clock right after COMMIT returns) to its write at each target (a
 * trigger's clock_timestamp()/SYSDATE(6) on the bench's target table, logged per key and version).
 * Same host, same clock.
 */
import { sql, type Database } from '../adapters';
import { change, enterprise, generation } from './data';
import type { BenchExchange, DxgChild } from './exchange';
import { CostMeter, type CostReport } from './proc';
import { open, type Db } from './services';
import { APPLY_LOG, exec, SOURCE_TABLE, TARGET_SQL } from './tables';

export interface LatencyStats {
  changes: number;
  applied: number;
  /** changes overtaken by a later change of the same record before they were applied (not lost) */
  coalesced: number;
  /** records whose latest version never arrived within the wait */
  missing: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface LatencyResult {
  seconds: number;
  rateTarget: number;
  changesWritten: number;
  updates: number;
  inserts: number;
  achievedRate: number;
  transactions: number;
  /** per target department */
  targets: Record<string, LatencyStats>;
  cost: CostReport;
  /** how each dxg up process ended after SIGTERM (0: drained cleanly) */
  nodeExitCodes: Record<string, number>;
}

interface Change {
  key: string;
  version: string;
  commitMs: number;
}

/** a row the writer changed, as RETURNING reads it back */
type Written = { key: string; version: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.timeOrigin + performance.now();

function strideFor(n: number): number {
  for (const p of [1_000_003, 999_983, 7_919, 104_729]) if (n % p !== 0) return p;
  return 1;
}

/**
 * Writes `rate` changes a second for `seconds` on the source: nine in ten update an existing
 * enterprise (address, head count, status; every one a different record while the table is big
 * enough), one in ten registers a new one. Changes due at the same moment share a transaction.
 */
async function write(source: Db, baseRows: number, rate: number, seconds: number, onProgress: (written: number) => void) {
  const c = await open(source, 1);
  const gen = generation(baseRows);
  const stride = strideFor(baseRows);
  const changes: Change[] = [];
  let updates = 0;
  let inserts = 0;
  let transactions = 0;
  let done = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let lastReport = t0;
  try {
    for (;;) {
      const now = performance.now();
      if (now >= end) break;
      const due = Math.min(Math.floor(((now - t0) / 1000) * rate), Math.floor(seconds * rate)) - done;
      if (due <= 0) {
        await sleep(Math.max(1, ((done + 1) / rate) * 1000 - (now - t0)));
        continue;
      }
      const batch = Math.min(due, 200);
      const upd = { code: [] as string[], address: [] as string[], employees: [] as number[], status: [] as string[] };
      const ins: ReturnType<typeof enterprise>[] = [];
      for (let k = 0; k < batch; k++) {
        const serial = done + k;
        if (serial % 10 === 9) {
          ins.push(enterprise(baseRows + inserts++, gen));
        } else {
          const index = (updates++ * stride + 12_345) % baseRows;
          const ch = change(index, serial);
          upd.code.push(enterprise(index, gen).credit_code);
          upd.address.push(ch.address);
          upd.employees.push(ch.employees);
          upd.status.push(ch.status);
        }
      }
      const returned: Written[] = [];
      await c.transaction(async (tx) => {
        if (upd.code.length) {
          returned.push(...await tx.query<Written>(
            sql`UPDATE ${sql.id(SOURCE_TABLE)} e SET address = v.address, employees = v.employees, status_code = v.status
                  FROM unnest(${upd.code}::text[], ${upd.address}::text[], ${upd.employees}::int[], ${upd.status}::text[]) AS v(code, address, employees, status)
                 WHERE e.credit_code = v.code
                RETURNING e.credit_code AS key, to_char(e.updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS version`));
        }
        if (ins.length) {
          const col = <K extends keyof (typeof ins)[number]>(k: K) => ins.map((e) => e[k]);
          returned.push(...await tx.query<Written>(
            sql`INSERT INTO ${sql.id(SOURCE_TABLE)} (credit_code, ent_name, legal_rep, reg_capital, currency, status_code, est_date, ent_type,
                  industry_code, region_code, address, business_scope, reg_authority, employees, is_listed)
                SELECT * FROM unnest(${col('credit_code')}::text[], ${col('ent_name')}::text[], ${col('legal_rep')}::text[],
                  ${col('reg_capital')}::numeric[], ${col('currency')}::text[], ${col('status_code')}::text[], ${col('est_date')}::date[],
                  ${col('ent_type')}::text[], ${col('industry_code')}::text[], ${col('region_code')}::text[], ${col('address')}::text[],
                  ${col('business_scope')}::text[], ${col('reg_authority')}::text[], ${col('employees')}::int[], ${col('is_listed')}::boolean[])
                RETURNING credit_code AS key, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS version`));
        }
      });
      const commitMs = nowMs();
      transactions++;
      for (const r of returned) changes.push({ key: r.key, version: r.version, commitMs });
      done += batch;
      if (performance.now() - lastReport >= 10_000) {
        lastReport = performance.now();
        onProgress(done);
      }
    }
  } finally {
    await c.close();
  }
  return { changes, updates, inserts, transactions, seconds: (performance.now() - t0) / 1000 };
}

/** Reads a target's apply log incrementally: (key|version) → first time written there (ms since epoch). */
class ApplyLog {
  private last = 0;
  readonly applied = new Map<string, number>();
  private database: Database | null = null;

  private chain: Promise<void> = Promise.resolve();

  constructor(readonly db: Db) {}

  /** Reads what was logged since the last poll (polls run one after another). */
  poll(): Promise<void> {
    const next = this.chain.then(() => this.pollOnce());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async pollOnce(): Promise<void> {
    this.database ??= await open(this.db, 1);
    const rows = await this.database.query<{ id: string; key: string; version: string; at: string | number }>(
      sql`SELECT ${sql.raw(TARGET_SQL[this.db.driver].logged)} FROM ${sql.id(APPLY_LOG)} WHERE id > ${this.last} ORDER BY id LIMIT 100000`);
    for (const r of rows) {
      const k = `${r.key}|${r.version}`;
      if (!this.applied.has(k)) this.applied.set(k, Number(r.at));
      this.last = Math.max(this.last, Number(r.id));
    }
    if (rows.length === 100000) await this.pollOnce();
  }

  async close(): Promise<void> {
    await this.database?.close().catch(() => undefined);
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(changes: Change[], log: ApplyLog, latest: Map<string, string>): LatencyStats {
  const latencies: number[] = [];
  let coalesced = 0;
  let missing = 0;
  for (const ch of changes) {
    const at = log.applied.get(`${ch.key}|${ch.version}`);
    if (at !== undefined) latencies.push(at - ch.commitMs);
    else if (latest.get(ch.key) !== ch.version) coalesced++;
    else missing++;
  }
  latencies.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    changes: changes.length, applied: latencies.length, coalesced, missing,
    p50Ms: r(percentile(latencies, 50)), p95Ms: r(percentile(latencies, 95)), p99Ms: r(percentile(latencies, 99)),
    maxMs: r(latencies[latencies.length - 1] ?? NaN), meanMs: r(latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1)),
  };
}

export interface LatencyOptions {
  exchange: BenchExchange;
  source: Db;
  /** target department id → its database */
  targets: Record<string, Db>;
  baseRows: number;
  rate: number;
  seconds: number;
  /** PostgreSQL's maintenance database, where the meter finds the backends */
  admin: Database;
  say: (msg: string) => void;
}

export async function latency(o: LatencyOptions): Promise<LatencyResult> {
  for (const db of Object.values(o.targets)) await exec(db, TARGET_SQL[db.driver].applyLog);
  const meter = new CostMeter(o.admin, [o.source, ...Object.values(o.targets)].filter((d) => d.driver === 'postgres').map((d) => d.name));
  await meter.ready();
  const nodes: DxgChild[] = [];
  const logs = Object.entries(o.targets).map(([dept, db]) => [dept, new ApplyLog(db)] as const);
  try {
    // one node process per department, as deployed (each front-end processor beside its own database)
    const up: Promise<void>[] = [];
    for (const dept of Object.keys(o.exchange.departments)) {
      let ready!: () => void;
      up.push(new Promise<void>((r) => (ready = r)));
      let seen = '';
      const child = o.exchange.start(`up-${dept}`, ['up', '--department', dept], {
        meter, logLevel: 'info',
        onStderr: (text) => {
          seen = (seen + text).slice(-2000);
          if (seen.includes('nodes up')) ready();
        },
      });
      nodes.push(child);
      void child.done.then((r) => {
        ready();
        if (r.code !== 0) o.say(`dxg up --department ${dept} exited ${r.code}: ${r.stderrTail.slice(-500)}`);
      });
    }
    await Promise.race([Promise.all(up), sleep(60_000)]);
    for (const n of nodes) if ((await Promise.race([n.done.then(() => true), sleep(0).then(() => false)]))) throw new Error(`dxg up (${n.name}) exited early; see ${o.exchange.logFile(n.name)}`);
    o.say(`latency: ${nodes.length} nodes up (dxg up per department); writing ${o.rate} changes/s for ${o.seconds} s`);
    await sleep(2000); // a couple of idle cycles first
    const polling = setInterval(() => void Promise.all(logs.map(([, l]) => l.poll().catch(() => undefined))), 2000);
    let written;
    try {
      written = await write(o.source, o.baseRows, o.rate, o.seconds, (n) => {
        const applied = logs.map(([d, l]) => `${d} ${l.applied.size.toLocaleString('en')}`).join(', ');
        o.say(`latency: ${n.toLocaleString('en')} changes written; applied: ${applied}`);
      });
    } finally {
      clearInterval(polling);
    }
    const latest = new Map<string, string>();
    for (const ch of written.changes) latest.set(ch.key, ch.version);
    o.say(`latency: writer done (${written.changes.length.toLocaleString('en')} changes in ${written.transactions.toLocaleString('en')} transactions); waiting for the targets`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const [, l] of logs) await l.poll();
      const behind = logs.map(([, l]) => [...latest].filter(([k, v]) => !l.applied.has(`${k}|${v}`)).length);
      if (behind.every((b) => b === 0) || Date.now() > deadline) break;
      await sleep(500);
    }
    const targets: Record<string, LatencyStats> = {};
    for (const [dept, l] of logs) targets[dept] = stats(written.changes, l, latest);
    const stopping = nodes.map((n) => n.done);
    for (const n of nodes) n.stop('SIGTERM');
    const killer = setTimeout(() => nodes.forEach((n) => n.stop('SIGKILL')), 30_000);
    const ended = await Promise.all(stopping);
    clearTimeout(killer);
    const nodeExitCodes = Object.fromEntries(nodes.map((n, i) => [n.name, ended[i].code]));
    const cost = meter.stop();
    return {
      seconds: Math.round(written.seconds * 10) / 10, rateTarget: o.rate, changesWritten: written.changes.length,
      updates: written.updates, inserts: written.inserts, achievedRate: Math.round(written.changes.length / written.seconds),
      transactions: written.transactions, targets, cost, nodeExitCodes,
    };
  } finally {
    for (const n of nodes) n.stop('SIGKILL');
    await Promise.all(nodes.map((n) => n.done));
    for (const [, l] of logs) await l.close();
  }
}
