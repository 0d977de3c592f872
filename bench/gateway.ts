/**
 * The gateway itself, everything on: `dxg run --once` of a flow as a child process, timed from spawn
 * to exit, its processes' peak memory and CPU sampled, and the target checked to hold every row.
 */
import { sql, type Database } from '../adapters';
import type { BenchExchange, DxgChild } from './exchange';
import { CostMeter, type CostReport } from './proc';
import { summarizeProfile, type ProfileSummary } from './profile';
import { ENGINES, using, type Db } from './services';
import { countRows, SOURCE_TABLE, TARGET_SQL, TARGET_TABLE } from './tables';

export interface GatewayResult {
  records: number;
  wallSeconds: number;
  recordsPerSecond: number;
  /** the same dxg run --once again with nothing left to do: start-up, settle, shut-down (the fixed cost in wallSeconds) */
  idleRunSeconds: number;
  cost: CostReport;
  /** with --cpu-prof: where the dxg process spent its time */
  profile?: ProfileSummary;
  /** dxg run's own per-flow, per-target summary */
  summary: string;
}

/** Envelopes applied so far for a flow at a target (its inbox), for progress output. */
async function appliedMessages(db: Db, flow: string): Promise<number> {
  const [row] = await using(db, (d) => d.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM dxg_inbox WHERE flow = ${flow}`));
  return Number(row.n);
}

/** Why rows are missing: what the gateway quarantined or rejected, from its own tables. */
async function quarantineSummary(dbs: Db[]): Promise<string> {
  const out: string[] = [];
  for (const db of dbs) {
    try {
      const rows = await using(db, (d) => d.query<{ stage: string; reason: string; n: string | number }>(
        sql`SELECT stage, reason, count(*) AS n FROM dxg_quarantine GROUP BY stage, reason ORDER BY n DESC LIMIT 5`));
      for (const r of rows) out.push(`${db.name}: ${r.n} × ${r.stage}: ${r.reason}`);
    } catch (err) {
      out.push(`${db.name}: ${(err as Error).message}`);
    }
  }
  return out.length ? out.join('\n') : 'nothing quarantined or rejected';
}

const round = (s: number) => Math.round(s * 1000) / 1000;

type Checked = Record<'k' | 'name' | 'address' | 'cap' | 'emp' | 'listed' | 'v', string>;

/**
 * Compares a random sample of source rows with what the target holds, field by field as text
 * (counts alone would not notice a mangled value). Returns the first difference, or null.
 */
export async function spotCheck(source: Db, target: Db, sample = 1000): Promise<string | null> {
  const src = await using(source, (d) => d.query<Checked>(
    sql`SELECT credit_code AS k, ent_name AS name, coalesce(address, '') AS address, coalesce(reg_capital::text, '') AS cap,
               coalesce(employees::text, '') AS emp, CASE WHEN is_listed THEN '1' WHEN NOT is_listed THEN '0' ELSE '' END AS listed,
               to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS v
          FROM ${sql.id(SOURCE_TABLE)} ORDER BY random() LIMIT ${sample}`));
  const keys = src.map((r) => r.k);
  const dst = await using(target, (d) => d.query<Checked>(
    sql`SELECT ${sql.raw(TARGET_SQL[target.driver].checked)} FROM ${sql.id(TARGET_TABLE)} WHERE uscc IN ${sql.list(keys)}`));
  const held = new Map(dst.map((r) => [r.k, r]));
  for (const r of src) {
    const d = held.get(r.k);
    if (!d) return `${r.k} is missing at ${target.name}`;
    for (const f of ['name', 'address', 'cap', 'emp', 'listed', 'v'] as const) {
      if (String(d[f]) !== String(r[f])) return `${r.k}.${f}: source '${r[f]}', ${target.name} '${d[f]}'`;
    }
  }
  return null;
}

export interface SyncOptions {
  exchange: BenchExchange;
  /** flows to run (dxg run --once --flow …); all of the exchange's when empty */
  flows: string[];
  /** the databases to check: each target must hold `expected` rows afterwards */
  targets: Db[];
  expected: number;
  /** PostgreSQL databases whose backends' CPU is counted */
  pgDatabases: Db[];
  /** PostgreSQL's maintenance database, where the meter finds the backends */
  admin: Database;
  batchSize: number;
  label: string;
  say: (msg: string) => void;
  /** run only these departments' nodes in the timed process (--department); default all of them */
  departments?: string[];
  /** the other departments' nodes, already running (dxg up): metered with the run, and it fails if one exits */
  alongside?: DxgChild[];
  /** the target table (default the enterprise table) and how a sample of it is compared with the source */
  table?: string;
  check?: (source: Db, target: Db) => Promise<string | null>;
  /** records the run moves, when not `expected` (the updates part: changed rows of a full table) */
  records?: number;
}

export async function gatewaySync(o: SyncOptions): Promise<GatewayResult> {
  const meter = new CostMeter(o.admin, o.pgDatabases.map((d) => d.name));
  await meter.ready();
  for (const node of o.alongside ?? []) meter.watch(node.pid, node.name, true);
  const args = ['run', '--once', '--timeout', '86400', ...o.flows.flatMap((f) => ['--flow', f]), ...(o.departments ?? []).flatMap((d) => ['--department', d])];
  const flowOf = (t: Db) => o.exchange.flows.find((f) => o.flows.includes(f.id) && f.targets.some((d) => o.exchange.departments[d].db === t))?.id;
  const t0 = performance.now();
  let polling = false;
  const poll = setInterval(async () => {
    if (polling) return;
    polling = true;
    try {
      const parts: string[] = [];
      for (const t of o.targets) {
        const flow = flowOf(t) ?? o.flows[0];
        const n = Math.min(o.records ?? o.expected, (await appliedMessages(t, flow)) * o.batchSize);
        const s = (performance.now() - t0) / 1000;
        parts.push(`${ENGINES[t.driver].title} ~${n.toLocaleString('en')} applied (${Math.round(n / s).toLocaleString('en')}/s)`);
      }
      o.say(`${o.label}: ${Math.round((performance.now() - t0) / 1000)} s, ${parts.join(', ')}`);
    } catch {
      /* progress is best effort */
    } finally {
      polling = false;
    }
  }, 10_000);
  let result;
  try {
    result = await o.exchange.run(o.label, args, meter, o.alongside);
  } finally {
    clearInterval(poll);
  }
  const cost = meter.stop();
  for (const t of o.targets) {
    const n = await countRows(t, o.table ?? TARGET_TABLE);
    if (n !== o.expected) {
      throw new Error(`${o.label}: the target ${t.name} holds ${n} rows, ${o.expected} expected (rows lost!)\n`
        + `${await quarantineSummary([o.exchange.departments[o.exchange.source].db, t])}\n${result.stdout}`);
    }
  }
  for (const t of o.targets) {
    const diff = await (o.check ?? spotCheck)(o.exchange.departments[o.exchange.source].db, t);
    if (diff) throw new Error(`${o.label}: a sampled row differs between source and target: ${diff}`);
  }
  const idle = await o.exchange.run(`${o.label}-idle`, args);
  const profileFile = o.exchange.profileFile(o.label);
  let profile: ProfileSummary | undefined;
  if (profileFile) {
    try {
      profile = summarizeProfile(profileFile);
    } catch (err) {
      o.say(`${o.label}: cannot read the CPU profile ${profileFile}: ${(err as Error).message}`);
    }
  }
  return {
    records: o.records ?? o.expected, wallSeconds: round(result.wallSeconds), recordsPerSecond: Math.round((o.records ?? o.expected) / result.wallSeconds),
    idleRunSeconds: round(idle.wallSeconds), cost, profile, summary: result.stdout.trim(),
  };
}
