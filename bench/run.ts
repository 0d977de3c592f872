/**
 * npm run bench: the gateway measured against the physical limit, side by side in one run on the
 * same machine. See bench/README.md for the parts, the options and how to read the table.
 */
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../adapters';
import { brokerLimit, copyMariadb, copyPostgres, type BaselineResult } from './baselines';
import { pipeFloor, type FloorResult, type FloorWire } from './floor';
import { BenchExchange, ROOT, type FlowSpec } from './exchange';
import { gatewaySync, type GatewayResult } from './gateway';
import { latency, type LatencyResult } from './latency';
import { nodesSync, type NodesResult } from './nodes';
import { Databases, machineFacts, open, PG_ADMIN, type Db, type MachineFacts } from './services';
import { countRows, createTarget, generateSource, SOURCE_TABLE, TARGET_TABLE } from './tables';
import { renderReport } from './report';
import { centreLag, CentreRig, drain, type CentreLagResult, type CentreMemoryRun, type CentreShape, type DrainResult, type ProduceResult } from './centre';
import { centreSearch, type CentreSearchResult } from './centre-search';
import { changeEnterprises, checkPersons, copyPersons, createPersonTarget, generatePersons, PERSON_SHAPE, PERSON_TARGET } from './population';
import { bulkPartsReport } from './report-bulk';
import { BATCH_SIZE } from '../gateway/config/flow.spec';

export const PARTS = ['copy-pg', 'copy-my', 'broker', 'floor-pg', 'gateway-pg', 'gateway-my', 'nodes-pg', 'nodes-my', 'updates', 'population', 'latency', 'memory',
  'centre-collect', 'centre-lag', 'centre-search', 'centre-memory'] as const;
export type Part = (typeof PARTS)[number];
const ALIASES: Record<string, Part[]> = {
  'baseline-a': ['copy-pg', 'copy-my'],
  copy: ['copy-pg', 'copy-my'],
  'baseline-b': ['broker'],
  'baseline-c': ['floor-pg'],
  floor: ['floor-pg'],
  gateway: ['gateway-pg', 'gateway-my', 'nodes-pg', 'nodes-my'],
  bulk: ['copy-pg', 'floor-pg', 'gateway-pg', 'nodes-pg', 'updates', 'population'],
  baselines: ['copy-pg', 'copy-my', 'broker', 'floor-pg'],
  centre: ['centre-collect', 'centre-lag', 'centre-search', 'centre-memory'],
};

export interface Options {
  rows: number;
  parts: Part[];
  latencySeconds: number;
  rate: number;
  memoryRows: number;
  populationRows: number;
  updateRows: number;
  pageSize?: number;
  batchSize: number;
  dxg: string;
  keep: boolean;
  cpuProf: boolean;
  label?: string;
  /** the exchange centre's parts (see bench/centre.ts, bench/centre-search.ts) */
  centreEntries: number;
  centreDepartments: number;
  centreBatch: number;
  centreKeys: number;
  centreRate: number;
  centreLagSeconds: number;
  centreMemoryEntries: number;
  searchKeys: number;
  searchKeysPerEntry: number;
  searchSamples: number;
  searchScanSamples: number;
}

export interface MemoryRun {
  rows: number;
  wallSeconds: number;
  recordsPerSecond: number;
  peakRssMiB: number;
  processes: { label: string; peakRssMiB: number; cpuSeconds: number }[];
  gatewayCpuSeconds: number;
}

export interface Results {
  label?: string;
  startedAt: string;
  finishedAt?: string;
  rows: number;
  options: Omit<Options, 'dxg'> & { dxg: string };
  machine?: MachineFacts;
  generate?: { rows: number; wallSeconds: number; recordsPerSecond: number };
  baselineA?: { postgres?: BaselineResult; mariadb?: BaselineResult; mariadbKeyOrder?: BaselineResult };
  baselineB?: BaselineResult;
  /** baseline C: the bare pipe through the broker, PostgreSQL → PostgreSQL, none of the gateway's guarantees */
  floor?: Partial<Record<FloorWire, FloorResult>>;
  gateway?: { postgres?: GatewayResult; mariadb?: GatewayResult };
  /** the same bulk sync with a process per department (nodes-pg, nodes-my) */
  nodes?: { postgres?: NodesResult; mariadb?: NodesResult };
  ratios?: Record<string, number | null>;
  latency?: LatencyResult;
  /** ongoing changes: updates of keys the PostgreSQL target holds, dxg run --once of flow bench-pg */
  updates?: GatewayResult & { changed: number };
  /** person.basic records PostgreSQL → PostgreSQL: the bare COPY of the same rows, and the gateway */
  population?: { rows: number; copy?: BaselineResult; gateway?: GatewayResult };
  memory?: { flow: string; runs: MemoryRun[] };
  /** the exchange centre: collecting a backlog, lag at a steady rate, one record's trail, memory at N and 10×N entries */
  centre?: {
    collect?: { departments: number; batch: number; keysPerEntry: number; produce: ProduceResult; drain: DrainResult };
    lag?: CentreLagResult;
    search?: CentreSearchResult;
    memory?: { departments: number; batch: number; runs: CentreMemoryRun[] };
  };
  errors: { part: string; error: string }[];
  wallSeconds?: number;
}

const int = (min: number) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`an integer ≥ ${min} is needed`);
  return n;
};

function parts(list: string): Part[] {
  const out: Part[] = [];
  for (const p of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (ALIASES[p]) out.push(...ALIASES[p]);
    else if ((PARTS as readonly string[]).includes(p)) out.push(p as Part);
    else throw new InvalidArgumentError(`unknown part '${p}' (parts: ${PARTS.join(', ')}; groups: ${Object.keys(ALIASES).join(', ')})`);
  }
  return out;
}

export function parseOptions(argv: string[]): Options {
  const program = new Command('bench')
    .description('Benchmark the gateway against the physical limit (COPY) and the broker\'s limit, side by side')
    .option('--rows <n>', 'enterprise records in the source table', int(1), 1_000_000)
    .option('--only <parts>', `run only these parts, comma-separated (${PARTS.join(', ')}; groups: ${Object.keys(ALIASES).join(', ')})`, parts)
    .option('--skip <parts>', 'skip these parts', parts)
    .option('--latency-seconds <s>', 'how long the writer changes the source in the latency part', int(1), 60)
    .option('--rate <n>', 'changes per second the writer makes in the latency part', int(1), 1000)
    .option('--memory-rows <n>', 'the memory part runs N and 10×N records', int(1), 100_000)
    .option('--population-rows <n>', 'population: person.basic records (the seeds\' city has 6,710,000; default: --rows)', int(1))
    .option('--update-rows <n>', 'updates: existing enterprises changed at the source, then synced (default: --rows / 5)', int(1))
    .option('--page-size <n>', 'the flows\' page_size (default: the gateway\'s)', int(1))
    .option('--batch-size <n>', 'the flows\' batch_size, also the records per message of baseline B', int(1), BATCH_SIZE)
    .option('--dxg <path>', 'the dxg executable to benchmark', join(ROOT, 'bin', 'dxg'))
    .option('--keep', 'keep the databases, broker queues and temp dirs for inspection', false)
    .option('--cpu-prof', 'run the dxg processes under node --cpu-prof (slower); profiles under bench/results/profiles/, summary in the report', false)
    .option('--label <text>', 'a note stored with the results (e.g. what changed)')
    .option('--centre-entries <n>', 'centre-collect: ledger entries the departments append while the centre is down, then collected', int(1), 1_000_000)
    .option('--centre-departments <n>', 'centre-*: departments writing ledgers (centre-search: source departments, plus the credit platform)', int(1), 20)
    .option('--centre-batch <n>', 'centre-collect/-lag/-memory: entries per ledger transaction, so per audit-feed message', int(1), 1)
    .option('--centre-keys <n>', 'centre-collect/-lag/-memory: record keys named by each publish and apply entry', int(0), 10)
    .option('--centre-rate <n>', 'centre-lag: entries/s all departments append together', int(1), 2000)
    .option('--centre-lag-seconds <s>', 'centre-lag: how long they append at that rate', int(1), 60)
    .option('--centre-memory-entries <n>', 'centre-memory: collects N and 10×N entries', int(1), 10_000)
    .option('--search-keys <n>', 'centre-search: distinct record keys the ledgers name (the credit platform holds 48.5 M records)', int(1), 50_000_000)
    .option('--search-keys-per-entry <n>', 'centre-search: keys per message, i.e. per publish and apply entry (the flows\' default batch_size)', int(1), BATCH_SIZE)
    .option('--search-samples <n>', 'centre-search: random keys whose trail the centre is asked for', int(1), 200)
    .option('--search-scan-samples <n>', 'centre-search: of those, keys also asked of the department ledgers (each a scan of all of them)', int(1), 5)
    .allowExcessArguments(false);
  program.parse(argv);
  const o = program.opts<{ rows: number; only?: Part[]; skip?: Part[]; latencySeconds: number; rate: number; memoryRows: number; populationRows?: number; updateRows?: number;
    pageSize?: number; batchSize: number; dxg: string; keep: boolean; cpuProf: boolean; label?: string; centreEntries: number; centreDepartments: number;
    centreBatch: number; centreKeys: number; centreRate: number; centreLagSeconds: number; centreMemoryEntries: number; searchKeys: number;
    searchKeysPerEntry: number; searchSamples: number; searchScanSamples: number }>();
  const chosen = (o.only ?? [...PARTS]).filter((p) => !(o.skip ?? []).includes(p));
  return {
    rows: o.rows, parts: PARTS.filter((p) => chosen.includes(p)), latencySeconds: o.latencySeconds, rate: o.rate, memoryRows: o.memoryRows,
    populationRows: o.populationRows ?? o.rows, updateRows: Math.min(o.rows, o.updateRows ?? Math.max(1, Math.floor(o.rows / 5))),
    pageSize: o.pageSize, batchSize: o.batchSize, dxg: o.dxg, keep: o.keep, cpuProf: o.cpuProf, label: o.label,
    centreEntries: o.centreEntries, centreDepartments: o.centreDepartments, centreBatch: o.centreBatch, centreKeys: o.centreKeys, centreRate: o.centreRate,
    centreLagSeconds: o.centreLagSeconds, centreMemoryEntries: o.centreMemoryEntries, searchKeys: o.searchKeys, searchKeysPerEntry: o.searchKeysPerEntry,
    searchSamples: o.searchSamples, searchScanSamples: o.searchScanSamples,
  };
}

const started = performance.now();
function say(msg: string): void {
  const s = (performance.now() - started) / 1000;
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  const ss = (s % 60).toFixed(1).padStart(4, '0');
  process.stderr.write(`[bench ${mm}:${ss}] ${msg}\n`);
}

const fmt = (n: number) => n.toLocaleString('en');

/** Everything to undo at the end, also after a failure or Ctrl-C: newest first. */
const cleanups: { what: string; fn: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | null = null;
function cleanUp(keep: boolean): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      if (keep && c.what !== 'stop processes') {
        say(`kept: ${c.what}`);
        continue;
      }
      await c.fn().catch((err) => say(`cleanup of ${c.what} failed: ${(err as Error).message}`));
    }
  })();
  return cleaning;
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const results: Results = { label: opts.label, startedAt: new Date().toISOString(), rows: opts.rows, options: opts, errors: [] };
  const resultsDir = join(ROOT, 'bench', 'results');
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const profileDir = opts.cpuProf ? join(resultsDir, 'profiles', stamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const dbs = new Databases(runId);
  cleanups.push({ what: `databases (${runId})`, fn: async () => {
    const problems = await dbs.dropAll();
    for (const p of problems) say(`could not drop ${p}`);
  } });
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: cleaning up`);
    void cleanUp(opts.keep).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let admin: Database | null = null;
  try {
    say(`run ${runId}: ${opts.parts.some((p) => !p.startsWith('centre-')) ? `${fmt(opts.rows)} records; ` : ''}parts: ${opts.parts.join(', ')}`);
    results.machine = await machineFacts();
    const m = results.machine;
    say(`machine: ${m.host.nproc} cores, ${m.host.totalMemoryGiB} GiB; node ${m.node}; PostgreSQL ${m.postgres}; MariaDB ${m.mariadb}; RabbitMQ ${m.rabbitmq}`);
    admin = await open(PG_ADMIN, 1);
    const adminClient = admin;
    const has = (...p: Part[]) => p.some((x) => opts.parts.includes(x));
    const attempt = async <T>(part: string, fn: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        say(`${part} FAILED: ${text}`);
        results.errors.push({ part, error: text });
        return undefined;
      }
    };

    // --- the main databases and exchange: one source, a PostgreSQL and a MariaDB target ---
    let main: { src: Db; qs: Db; tax: Db; exchange: BenchExchange } | null = null;
    if (has('copy-pg', 'copy-my', 'floor-pg', 'gateway-pg', 'gateway-my', 'nodes-pg', 'nodes-my', 'updates', 'latency')) {
      const src = await dbs.create('postgres', 'amr');
      const qs = await dbs.create('postgres', 'qs');
      const tax = await dbs.create('mysql', 'tax');
      say(`databases: ${src.name} (source, PostgreSQL), ${qs.name} (target, PostgreSQL), ${tax.name} (target, MariaDB)`);
      say(`generating ${fmt(opts.rows)} enterprise records with COPY`);
      const t0 = performance.now();
      await generateSource(src, opts.rows, (n) => say(`generate: ${fmt(n)} / ${fmt(opts.rows)}`));
      const wall = (performance.now() - t0) / 1000;
      results.generate = { rows: opts.rows, wallSeconds: Math.round(wall * 1000) / 1000, recordsPerSecond: Math.round(opts.rows / wall) };
      say(`generate: ${fmt(opts.rows)} records in ${wall.toFixed(1)} s (with key, index, trigger, ANALYZE)`);
      await createTarget(qs);
      await createTarget(tax);
      const exchange = new BenchExchange(`dxgb-${runId}`, {
        amr: { title: '市场监督管理局', db: src },
        qs: { title: '质量技术监督局', db: qs },
        tax: { title: '税务局', db: tax },
      }, [
        { id: 'bench-pg', targets: ['qs'], pageSize: opts.pageSize, batchSize: opts.batchSize },
        { id: 'bench-my', targets: ['tax'], pageSize: opts.pageSize, batchSize: opts.batchSize },
      ], 'amr', opts.dxg, profileDir);
      cleanups.push({ what: `temp dir ${exchange.dir}`, fn: async () => rmSync(exchange.dir, { recursive: true, force: true }) });
      cleanups.push({ what: `exchange dxgb-${runId} on the broker`, fn: () => exchange.removeTopology() });
      cleanups.push({ what: 'stop processes', fn: () => exchange.stopAll() });
      await exchange.setUp();
      say(`exchange dxgb-${runId}: keys generated, dxg init done (${exchange.dir})`);
      main = { src, qs, tax, exchange };
    }

    // --- baseline A: the physical limit ---
    if (main && has('copy-pg')) {
      const { src, qs } = main;
      say('baseline A: COPY PostgreSQL → PostgreSQL');
      const r = await attempt('copy-pg', () => copyPostgres(src, qs, opts.rows));
      if (r) say(`baseline A PostgreSQL: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s`);
      (results.baselineA ??= {}).postgres = r;
    }
    if (main && has('copy-my')) {
      const { src, tax } = main;
      say('baseline A: COPY PostgreSQL → LOAD DATA LOCAL INFILE MariaDB');
      const r = await attempt('copy-my', () => copyMariadb(src, tax, opts.rows));
      if (r) say(`baseline A MariaDB: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s`);
      (results.baselineA ??= {}).mariadb = r;
      say('baseline A: the same, rows sorted by the primary key');
      const k = await attempt('copy-my', () => copyMariadb(src, tax, opts.rows, true));
      if (k) say(`baseline A MariaDB in key order: ${fmt(k.records)} records in ${k.wallSeconds.toFixed(2)} s = ${fmt(k.recordsPerSecond)}/s`);
      results.baselineA.mariadbKeyOrder = k;
    }

    // --- baseline B: the broker's limit ---
    if (has('broker')) {
      say(`baseline B: ${fmt(Math.ceil(opts.rows / opts.batchSize))} messages of ${opts.batchSize} records through RabbitMQ`);
      const r = await attempt('broker', () => brokerLimit(runId, opts.rows, opts.batchSize, 32, 4,
        (acked, total) => say(`baseline B: ${fmt(acked)} / ${fmt(total)} messages consumed`)));
      if (r) say(`baseline B: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s`);
      results.baselineB = r;
    }

    // --- baseline C: the floor of a Node.js gateway through RabbitMQ, JSON and COPY text on the wire ---
    if (main && has('floor-pg')) {
      const { src, qs } = main;
      for (const wire of ['json', 'copy-text', 'copy-text-kept'] as const) {
        const kept = wire === 'copy-text-kept';
        say(kept
          ? `baseline C (${wire}): the text pipe with the least work of each guarantee (checks both sides, signatures, outbox, checkpoint, inbox, versions, ledgers, receipts), bookkeeping in databases of its own`
          : `baseline C (${wire}): the bare pipe PostgreSQL → RabbitMQ → PostgreSQL (no validation, signatures, outbox, inbox, versions, receipts, ledger)`);
        // the kept pipe's ledgers and versions go to databases of its own: the exchange's ledgers stay the nodes' alone
        const [target, books] = kept ? [await dbs.create('postgres', 'floorqs'), await dbs.create('postgres', 'flooramr')] : [qs, undefined];
        let shown = 0;
        const r = await attempt('floor-pg', () => pipeFloor(src, target, adminClient, runId, opts.rows, opts.batchSize, wire, (done) => {
          if (done - shown >= 50_000) say(`baseline C (${wire}): ${fmt((shown = done))} written`);
        }, books));
        if (r) say(`baseline C (${wire}): ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s`);
        (results.floor ??= {})[wire] = r;
        if (books) for (const db of [target, books]) await dbs.drop(db);
      }
    }

    // --- the gateway, everything on ---
    if (main && has('gateway-pg')) {
      const { src, qs, exchange } = main;
      say('gateway: dxg run --once, PostgreSQL → PostgreSQL (flow bench-pg)');
      const r = await attempt('gateway-pg', () => gatewaySync({
        exchange, flows: ['bench-pg'], targets: [qs], expected: opts.rows, pgDatabases: [src, qs], admin: adminClient,
        batchSize: opts.batchSize, label: 'gateway-pg', say,
      }));
      if (r) say(`gateway PostgreSQL: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s, peak RSS ${r.cost.peakRssMiB} MiB`);
      (results.gateway ??= {}).postgres = r;
    }
    if (main && has('gateway-my')) {
      const { src, tax, exchange } = main;
      say('gateway: dxg run --once, PostgreSQL → MariaDB (flow bench-my)');
      const r = await attempt('gateway-my', () => gatewaySync({
        exchange, flows: ['bench-my'], targets: [tax], expected: opts.rows, pgDatabases: [src], admin: adminClient,
        batchSize: opts.batchSize, label: 'gateway-my', say,
      }));
      if (r) say(`gateway MariaDB: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s, peak RSS ${r.cost.peakRssMiB} MiB`);
      (results.gateway ??= {}).mariadb = r;
    }

    // --- the same, a process per department: dxg up for the target, dxg run --once --department amr timed ---
    if (main && has('nodes-pg', 'nodes-my')) {
      const { src, exchange: shared } = main;
      const exchange = await nodesExchange(dbs, runId, src, shared, opts, profileDir);
      const node = async (part: 'nodes-pg' | 'nodes-my', dept: 'qs' | 'tax') => {
        const flow = exchange.flows.find((f) => f.targets.includes(dept))!.id;
        const target = exchange.departments[dept].db;
        say(`gateway, a process per department: dxg up --department ${dept}, then dxg run --once --department amr (flow ${flow})`);
        const r = await attempt(part, () => nodesSync({
          exchange, flows: [flow], targets: [target], expected: opts.rows, pgDatabases: dept === 'qs' ? [src, target] : [src], admin: adminClient,
          batchSize: opts.batchSize, label: part, say, nodes: [dept],
        }));
        if (!r) return undefined;
        say(`${part}: ${fmt(r.records)} records in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s, peak RSS `
          + `${r.cost.processes.map((p) => `${p.label} ${p.peakRssMiB}`).join(', ')} MiB (Σ ${r.cost.peakRssMiB})`);
        for (const [name, code] of Object.entries(r.nodeExitCodes)) {
          if (code !== 0) results.errors.push({ part, error: `dxg up (${name}) exited ${code} after SIGTERM (log: ${exchange.logFile(name)})` });
        }
        return r;
      };
      if (has('nodes-pg')) (results.nodes ??= {}).postgres = await node('nodes-pg', 'qs');
      if (has('nodes-my')) (results.nodes ??= {}).mariadb = await node('nodes-my', 'tax');
    }

    // --- ongoing changes: updates of keys the target holds (no bulk path of new keys for them) ---
    if (main && has('updates')) {
      const { src, qs, exchange } = main;
      results.updates = await attempt('updates', async () => {
        if ((await countRows(qs, TARGET_TABLE)) !== opts.rows) {
          say('updates: the PostgreSQL target is not in sync yet; dxg run --once --flow bench-pg first (not timed)');
          await exchange.run('updates-catch-up', ['run', '--once', '--timeout', '86400', '--flow', 'bench-pg']);
        }
        const changed = await changeEnterprises(src, SOURCE_TABLE, opts.rows, opts.updateRows);
        say(`updates: ${fmt(changed)} enterprises changed at the source; dxg run --once --flow bench-pg`);
        const r = await gatewaySync({
          exchange, flows: ['bench-pg'], targets: [qs], expected: opts.rows, records: changed, pgDatabases: [src, qs], admin: adminClient,
          batchSize: opts.batchSize, label: 'updates', say,
        });
        say(`updates: ${fmt(changed)} updates in ${r.wallSeconds.toFixed(2)} s = ${fmt(r.recordsPerSecond)}/s`);
        return { ...r, changed };
      });
    }

    // --- population: person.basic records, PostgreSQL → PostgreSQL, against COPY of the same rows ---
    if (has('population')) {
      const n = opts.populationRows;
      const pop: NonNullable<Results['population']> = (results.population = { rows: n });
      await attempt('population', async () => {
        const src = await dbs.create('postgres', 'pop_police');
        const civil = await dbs.create('postgres', 'pop_civil');
        say(`population: generating ${fmt(n)} person.basic records in ${src.name}`);
        await generatePersons(src, n, (done) => say(`population generate: ${fmt(done)} / ${fmt(n)}`));
        await createPersonTarget(civil);
        const exchange = new BenchExchange(`dxgb-${runId}-pop`, {
          police: { title: '公安局', db: src }, civil: { title: '民政局', db: civil },
        }, [{ id: 'bench-person', targets: ['civil'], pageSize: opts.pageSize, batchSize: opts.batchSize, notify: false, shape: PERSON_SHAPE }],
        'police', opts.dxg, profileDir);
        cleanups.push({ what: `temp dir ${exchange.dir}`, fn: async () => rmSync(exchange.dir, { recursive: true, force: true }) });
        cleanups.push({ what: `exchange ${exchange.name} on the broker`, fn: () => exchange.removeTopology() });
        cleanups.push({ what: 'stop processes', fn: () => exchange.stopAll() });
        await exchange.setUp();
        say('population: COPY PostgreSQL → PostgreSQL of the same persons');
        pop.copy = await copyPersons(src, civil, n);
        say(`population COPY: ${fmt(n)} records in ${pop.copy.wallSeconds.toFixed(2)} s = ${fmt(pop.copy.recordsPerSecond)}/s`);
        pop.gateway = await gatewaySync({
          exchange, flows: ['bench-person'], targets: [civil], expected: n, pgDatabases: [src, civil], admin: adminClient,
          batchSize: opts.batchSize, label: 'population', say, table: PERSON_TARGET, check: checkPersons,
        });
        say(`population gateway: ${fmt(n)} records in ${pop.gateway.wallSeconds.toFixed(2)} s = ${fmt(pop.gateway.recordsPerSecond)}/s`);
      });
    }

    // --- incremental latency under dxg up ---
    if (main && has('latency')) {
      const { src, qs, tax, exchange } = main;
      results.latency = await attempt('latency', async () => {
        const n = await countRows(src, SOURCE_TABLE);
        if ((await countRows(qs, TARGET_TABLE)) !== n || (await countRows(tax, TARGET_TABLE)) !== n) {
          say('latency: the targets are not in sync yet; dxg run --once first (not timed)');
          await exchange.run('catch-up', ['run', '--once', '--timeout', '86400']);
        }
        const r = await latency({ exchange, source: src, targets: { qs, tax }, baseRows: opts.rows, rate: opts.rate, seconds: opts.latencySeconds, admin: adminClient, say });
        for (const [dept, s] of Object.entries(r.targets)) {
          if (s.missing) results.errors.push({ part: 'latency', error: `${s.missing} changes never arrived at ${dept} within 120 s of the writer's end (rows lost?)` });
        }
        for (const [name, code] of Object.entries(r.nodeExitCodes)) {
          if (code !== 0) results.errors.push({ part: 'latency', error: `dxg up (${name}) exited ${code} after SIGTERM (log: ${exchange.logFile(name)})` });
        }
        return r;
      });
    }

    // --- memory: N and 10×N through one flow with both targets ---
    if (has('memory')) {
      results.memory = { flow: 'bench-both (PostgreSQL → PostgreSQL and MariaDB)', runs: [] };
      for (const size of [opts.memoryRows, opts.memoryRows * 10]) {
        const run = await attempt(`memory-${size}`, () => memoryRun(dbs, runId, size, opts, adminClient, profileDir));
        if (run) results.memory.runs.push(run);
      }
    }

    // --- the exchange centre ---
    const shape: CentreShape = { departments: opts.centreDepartments, batch: opts.centreBatch, keysPerEntry: opts.centreKeys };
    if (has('centre-collect', 'centre-lag')) {
      const centre = (results.centre ??= {});
      let rig: CentreRig | null = null;
      await attempt('centre-collect', async () => {
        rig = await CentreRig.create({ dbs, runId, tag: 'c', shape, dxg: opts.dxg, profileDir, say });
        const r = rig;
        cleanups.push({ what: r.description, fn: () => r.destroy(false, say) });
        cleanups.push({ what: 'stop processes', fn: () => r.stopProcesses() });
        const entries = has('centre-collect') ? opts.centreEntries : 0;
        if (entries) {
          const d = await drain(r, entries, adminClient, say, 'centre-collect');
          say(`centre-collect: ${fmt(d.drain.entries)} entries collected and checked in ${d.drain.wallSeconds.toFixed(1)} s = ${fmt(d.drain.entriesPerSecond)}/s `
            + `(ready after ${d.drain.readySeconds} s), peak RSS ${d.drain.peakRssMiB} MiB`);
          centre.collect = { departments: shape.departments, batch: shape.batch, keysPerEntry: shape.keysPerEntry, produce: d.produce, drain: d.drain };
        } else {
          await r.openLedgers();
        }
      });
      if (has('centre-lag') && rig) {
        const r: CentreRig = rig;
        centre.lag = await attempt('centre-lag', async () => {
          if (!r.centre) await r.startCentre('centre-lag');
          const l = await centreLag(r, { rate: opts.centreRate, seconds: opts.centreLagSeconds, admin: adminClient, say });
          const ms = (v: number | null) => (v === null ? `over ${fmt(Math.round(l.seconds + l.waitSeconds))} s (not collected by the end)` : `${fmt(v)} ms`);
          say(`centre-lag: ${fmt(l.entries)} entries at ${fmt(l.achievedRate)}/s; commit → checked in the centre p50 ${ms(l.checked.p50Ms)}, p95 ${ms(l.checked.p95Ms)}`
            + `${l.behind ? `; ${fmt(l.behind)} entries still behind ${l.waitSeconds} s after the departments stopped (${fmt(l.queuedAfter)} messages queued)` : ''}`);
          return l;
        });
      }
      if (rig) {
        const stopped = await (rig as CentreRig).stopCentre();
        if (stopped) results.errors.push({ part: has('centre-lag') ? 'centre-lag' : 'centre-collect', error: stopped });
      }
    }
    if (has('centre-search')) {
      (results.centre ??= {}).search = await attempt('centre-search', () => centreSearch({
        keys: opts.searchKeys, keysPerEntry: opts.searchKeysPerEntry, departments: opts.centreDepartments, samples: opts.searchSamples,
        scanSamples: Math.min(opts.searchScanSamples, opts.searchSamples), dbs, keep: opts.keep, say,
      }));
    }
    if (has('centre-memory')) {
      const memory = ((results.centre ??= {}).memory = { departments: shape.departments, batch: shape.batch, runs: [] as CentreMemoryRun[] });
      for (const [i, size] of [opts.centreMemoryEntries, opts.centreMemoryEntries * 10].entries()) {
        const run = await attempt(`centre-memory-${size}`, async () => {
          const rig = await CentreRig.create({ dbs, runId, tag: `cm${i}`, shape, dxg: opts.dxg, profileDir, say });
          try {
            const d = await drain(rig, size, adminClient, say, `centre-memory-${size}`);
            const stopped = await rig.stopCentre();
            if (stopped) throw new Error(stopped);
            say(`centre-memory ${fmt(size)}: collected in ${d.drain.wallSeconds.toFixed(1)} s, centre peak RSS ${d.drain.peakRssMiB} MiB`);
            return { entries: size, drainSeconds: d.drain.wallSeconds, entriesPerSecond: d.drain.entriesPerSecond, peakRssMiB: d.drain.peakRssMiB, centreCpuSeconds: d.drain.centreCpuSeconds };
          } finally {
            await rig.destroy(opts.keep, say);
          }
        });
        if (run) memory.runs.push(run);
      }
    }
  } catch (err) {
    const text = err instanceof Error ? err.stack ?? err.message : String(err);
    say(`FAILED: ${text}`);
    results.errors.push({ part: 'setup', error: text });
  } finally {
    say('cleaning up');
    await cleanUp(opts.keep);
    await admin?.close().catch(() => undefined);
  }
  results.finishedAt = new Date().toISOString();
  results.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  const ratio = (a?: { recordsPerSecond: number }, b?: { recordsPerSecond: number }) => (a && b ? Math.round((a.recordsPerSecond / b.recordsPerSecond) * 1000) / 1000 : null);
  results.ratios = {
    'gateway-pg/copy-pg': ratio(results.gateway?.postgres, results.baselineA?.postgres),
    'gateway-my/copy-my': ratio(results.gateway?.mariadb, results.baselineA?.mariadb),
    'gateway-my/copy-my-key-order': ratio(results.gateway?.mariadb, results.baselineA?.mariadbKeyOrder),
    'gateway-pg/broker': ratio(results.gateway?.postgres, results.baselineB),
    'gateway-my/broker': ratio(results.gateway?.mariadb, results.baselineB),
    'nodes-pg/copy-pg': ratio(results.nodes?.postgres, results.baselineA?.postgres),
    'floor-pg-json/copy-pg': ratio(results.floor?.json, results.baselineA?.postgres),
    'floor-pg-copy-text/copy-pg': ratio(results.floor?.['copy-text'], results.baselineA?.postgres),
    'floor-pg-copy-text-kept/copy-pg': ratio(results.floor?.['copy-text-kept'], results.baselineA?.postgres),
    'nodes-pg/floor-pg-json': ratio(results.nodes?.postgres, results.floor?.json),
    'gateway-pg/floor-pg-json': ratio(results.gateway?.postgres, results.floor?.json),
    'nodes-my/copy-my': ratio(results.nodes?.mariadb, results.baselineA?.mariadb),
    'nodes-my/copy-my-key-order': ratio(results.nodes?.mariadb, results.baselineA?.mariadbKeyOrder),
    'nodes-pg/broker': ratio(results.nodes?.postgres, results.baselineB),
    'nodes-my/broker': ratio(results.nodes?.mariadb, results.baselineB),
    'nodes-pg/gateway-pg': ratio(results.nodes?.postgres, results.gateway?.postgres),
    'nodes-my/gateway-my': ratio(results.nodes?.mariadb, results.gateway?.mariadb),
    'updates/copy-pg': ratio(results.updates, results.baselineA?.postgres),
    'population/copy-population': ratio(results.population?.gateway, results.population?.copy),
  };
  const report = renderReport(results) + bulkPartsReport(results);
  process.stdout.write(report + '\n');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${stamp}.json`);
  const json = JSON.stringify({ ...results, report }, null, 2) + '\n';
  writeFileSync(file, json);
  writeFileSync(join(resultsDir, 'latest.json'), json);
  if (profileDir) say(`CPU profiles: ${profileDir} (open in Chrome DevTools or speedscope)`);
  say(`results: ${file} (and bench/results/latest.json)`);
  return results.errors.length ? 1 : 0;
}

/**
 * The exchange of the nodes-* parts: the main source database, fresh target databases (an empty
 * target and empty dxg_* tables, as the one-process parts found them) and flows of their own
 * (bench-pg-nodes, bench-my-nodes: their own checkpoints in the source). An exchange of its own,
 * not more flows in the main one: the latency part's dxg up would extract those flows as well.
 * No LISTEN/NOTIFY (unused by dxg run --once): no more triggers on the source table for the latency
 * part's writer. The main exchange's keys, as both append to the source's ledger.
 */
async function nodesExchange(dbs: Databases, runId: string, src: Db, shared: BenchExchange, opts: Options, profileDir?: string): Promise<BenchExchange> {
  const departments: BenchExchange['departments'] = { amr: { title: '市场监督管理局', db: src } };
  const flows: FlowSpec[] = [];
  if (opts.parts.includes('nodes-pg')) {
    departments.qs = { title: '质量技术监督局', db: await dbs.create('postgres', 'nodes_qs') };
    await createTarget(departments.qs.db);
    flows.push({ id: 'bench-pg-nodes', targets: ['qs'], pageSize: opts.pageSize, batchSize: opts.batchSize, notify: false });
  }
  if (opts.parts.includes('nodes-my')) {
    departments.tax = { title: '税务局', db: await dbs.create('mysql', 'nodes_tax') };
    await createTarget(departments.tax.db);
    flows.push({ id: 'bench-my-nodes', targets: ['tax'], pageSize: opts.pageSize, batchSize: opts.batchSize, notify: false });
  }
  say(`databases: ${Object.values(departments).slice(1).map((d) => d.db.name).join(', ')} (targets of the nodes parts; source ${src.name})`);
  const exchange = new BenchExchange(`dxgb-${runId}-nodes`, departments, flows, 'amr', opts.dxg, profileDir);
  cleanups.push({ what: `temp dir ${exchange.dir}`, fn: async () => rmSync(exchange.dir, { recursive: true, force: true }) });
  cleanups.push({ what: `exchange ${exchange.name} on the broker`, fn: () => exchange.removeTopology() });
  cleanups.push({ what: 'stop processes', fn: () => exchange.stopAll() });
  exchange.shareKeys(shared);
  await exchange.setUp();
  say(`exchange ${exchange.name}: dxg init done (${exchange.dir})`);
  return exchange;
}

/** One memory run: its own databases and exchange, `size` records through a flow with both targets. */
async function memoryRun(dbs: Databases, runId: string, size: number, opts: Options, admin: Database, profileDir?: string): Promise<MemoryRun> {
  const tag = `m${size}`;
  const src = await dbs.create('postgres', `${tag}_amr`);
  const qs = await dbs.create('postgres', `${tag}_qs`);
  const tax = await dbs.create('mysql', `${tag}_tax`);
  let exchange: BenchExchange | null = null;
  try {
    say(`memory: generating ${fmt(size)} records`);
    await generateSource(src, size, (n) => say(`memory generate: ${fmt(n)} / ${fmt(size)}`));
    await createTarget(qs);
    await createTarget(tax);
    exchange = new BenchExchange(`dxgb-${runId}-${tag}`, {
      amr: { title: '市场监督管理局', db: src },
      qs: { title: '质量技术监督局', db: qs },
      tax: { title: '税务局', db: tax },
    }, [{ id: 'bench-both', targets: ['qs', 'tax'], pageSize: opts.pageSize, batchSize: opts.batchSize }], 'amr', opts.dxg, profileDir);
    await exchange.setUp();
    say(`memory: dxg run --once with ${fmt(size)} records to both targets`);
    const r = await gatewaySync({
      exchange, flows: ['bench-both'], targets: [qs, tax], expected: size, pgDatabases: [src, qs], admin,
      batchSize: opts.batchSize, label: `memory-${size}`, say,
    });
    say(`memory ${fmt(size)}: ${r.wallSeconds.toFixed(1)} s, peak RSS ${r.cost.peakRssMiB} MiB`);
    return {
      rows: size, wallSeconds: r.wallSeconds, recordsPerSecond: r.recordsPerSecond, peakRssMiB: r.cost.peakRssMiB,
      processes: r.cost.processes.map(({ label, peakRssMiB, cpuSeconds }) => ({ label, peakRssMiB, cpuSeconds })), gatewayCpuSeconds: r.cost.gatewayCpuSeconds,
    };
  } finally {
    if (!opts.keep) {
      await exchange?.stopAll();
      await exchange?.removeTopology().catch(() => undefined);
      if (exchange) rmSync(exchange.dir, { recursive: true, force: true });
      for (const d of [tax, qs, src]) await dbs.drop(d).catch(() => undefined);
    } else if (exchange) {
      say(`kept: exchange ${exchange.name} (${exchange.dir}), databases ${[src, qs, tax].map((d) => d.name).join(', ')}`);
    }
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
