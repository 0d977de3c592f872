/** The bench's printed report: throughput side by side, latency percentiles, memory. */
import Table from 'cli-table3';
import type { BaselineResult } from './baselines';
import type { GatewayResult } from './gateway';
import type { NodesResult } from './nodes';
import type { ProfileSummary } from './profile';
import type { CostReport } from './proc';
import type { Results } from './run';

const n = (v: number | undefined | null, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v) ? '–' : v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head, style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

const ratio = (a?: { recordsPerSecond: number }, b?: { recordsPerSecond: number }) =>
  a && b ? `${(a.recordsPerSecond / b.recordsPerSecond).toFixed(3)} (1/${(b.recordsPerSecond / a.recordsPerSecond).toFixed(1)})` : '–';

export function renderReport(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`dxg bench — ${n(r.rows)} enterprise records${r.label ? ` — ${r.label}` : ''} — ${r.startedAt}`);
  if (m) {
    out.push(`${m.host.nproc} cores (${m.host.cpuModel}), ${m.host.totalMemoryGiB} GiB; node ${m.node}; PostgreSQL ${m.postgres}; MariaDB ${m.mariadb}; RabbitMQ ${m.rabbitmq}`);
  }

  const rows: (string | number)[][] = [];
  const A = r.baselineA;
  const B = r.baselineB;
  const G = r.gateway;
  const N = r.nodes;
  if (r.generate) rows.push(['generate source (COPY FROM STDIN)', n(r.generate.rows), n(r.generate.wallSeconds, 2), n(r.generate.recordsPerSecond), '', '', '']);
  if (A?.postgres) rows.push(['A: COPY PostgreSQL → PostgreSQL', n(A.postgres.records), n(A.postgres.wallSeconds, 2), n(A.postgres.recordsPerSecond), '', '', '']);
  if (A?.mariadb) rows.push(['A: COPY → LOAD DATA MariaDB', n(A.mariadb.records), n(A.mariadb.wallSeconds, 2), n(A.mariadb.recordsPerSecond), '', '', '']);
  if (A?.mariadbKeyOrder) {
    rows.push(['A: … MariaDB, sorted by key', n(A.mariadbKeyOrder.records), n(A.mariadbKeyOrder.wallSeconds, 2), n(A.mariadbKeyOrder.recordsPerSecond), '', '', '']);
  }
  if (B) rows.push([`B: RabbitMQ ${n(B.detail.recordsPerMessage as number)}/msg, confirm+ack`, n(B.records), n(B.wallSeconds, 2), n(B.recordsPerSecond), '', '', '']);
  const gw = (label: string, g?: GatewayResult, a?: BaselineResult) => {
    if (!g) return;
    rows.push([label, n(g.records), n(g.wallSeconds, 2), n(g.recordsPerSecond), ratio(g, a), ratio(g, B), n(g.cost.peakRssMiB, 1)]);
  };
  // a process per department: the largest process's peak (the memory target is per process), and the sum
  const nodes = (label: string, g?: NodesResult, a?: BaselineResult) => {
    if (!g) return;
    rows.push([label, n(g.records), n(g.wallSeconds, 2), n(g.recordsPerSecond), ratio(g, a), ratio(g, B), `${n(g.maxPeakRssMiB, 1)} (Σ ${n(g.cost.peakRssMiB, 1)})`]);
  };
  const keyOrder = (g?: GatewayResult) => {
    if (g && A?.mariadbKeyOrder) rows.push(['  ÷ A sorted by key', '', '', '', ratio(g, A.mariadbKeyOrder), '', '']);
  };
  gw('gateway PostgreSQL → PostgreSQL', G?.postgres, A?.postgres);
  nodes('gateway PostgreSQL → PostgreSQL, a process per department', N?.postgres, A?.postgres);
  gw('gateway PostgreSQL → MariaDB', G?.mariadb, A?.mariadb);
  keyOrder(G?.mariadb);
  nodes('gateway PostgreSQL → MariaDB, a process per department', N?.mariadb, A?.mariadb);
  keyOrder(N?.mariadb);
  if (rows.length) {
    out.push('', 'Bulk sync (dxg run --once: schema validation both sides, Ed25519, confirms, quorum queues, inbox upsert, receipts, ledger)');
    out.push(table(['part', 'records', 'wall s', 'records/s', 'gateway ÷ A', 'gateway ÷ B', 'peak RSS MiB'], rows));
    const peaks = ([['PostgreSQL', N?.postgres], ['MariaDB', N?.mariadb]] as const).filter(([, g]) => g)
      .map(([label, g]) => `${label}: ${g!.cost.processes.map((p) => `${p.label} ${n(p.peakRssMiB, 1)}`).join(', ')}`);
    if (peaks.length) {
      out.push(`A process per department: dxg up --department <target> (started before, not timed) + dxg run --once --department amr (timed); `
        + `peak RSS max of the processes (Σ their sum), per process MiB — ${peaks.join('; ')}`);
    }
  }

  const L = r.latency;
  if (L) {
    out.push('', `Incremental latency, source commit → target write (dxg up per department, woken by LISTEN/NOTIFY, schedule every second as fallback; `
      + `${n(L.changesWritten)} changes in ${n(L.seconds, 1)} s = ${n(L.achievedRate)}/s, ${n(L.transactions)} transactions; `
      + `peak RSS ${n(L.cost.peakRssMiB, 1)} MiB over ${L.cost.processes.filter((p) => !p.label.includes('/')).length} processes)`);
    out.push(table(['target', 'changes', 'applied', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms', 'coalesced', 'missing'],
      Object.entries(L.targets).map(([dept, s]) => [dept === 'qs' ? 'qs (PostgreSQL)' : dept === 'tax' ? 'tax (MariaDB)' : dept,
        n(s.changes), n(s.applied), n(s.p50Ms), n(s.p95Ms), n(s.p99Ms), n(s.maxMs), n(s.meanMs), n(s.coalesced), n(s.missing)])));
  }

  const M = r.memory;
  if (M?.runs.length) {
    out.push('', `Memory (dxg run --once, ${M.flow})`);
    out.push(table(['records', 'wall s', 'records/s', 'peak RSS MiB', 'gateway CPU s'],
      M.runs.map((x) => [n(x.rows), n(x.wallSeconds, 2), n(x.recordsPerSecond), n(x.peakRssMiB, 1), n(x.gatewayCpuSeconds, 1)])));
  }

  const costs: (string | number)[][] = [];
  const cost = (label: string, wall: number, c: CostReport, idle?: number) => costs.push([label, n(wall, 1), idle === undefined ? '–' : n(idle, 2),
    n(c.gatewayCpuSeconds, 1), n(c.postgresBackendCpuSeconds, 1), n(c.mariadbCpuSeconds, 1), n(c.rabbitmqCpuSeconds, 1), n(c.machineBusyPercent)]);
  if (G?.postgres) cost('gateway PostgreSQL → PostgreSQL', G.postgres.wallSeconds, G.postgres.cost, G.postgres.idleRunSeconds);
  if (G?.mariadb) cost('gateway PostgreSQL → MariaDB', G.mariadb.wallSeconds, G.mariadb.cost, G.mariadb.idleRunSeconds);
  if (N?.postgres) cost('gateway PostgreSQL → PostgreSQL, a process per department', N.postgres.wallSeconds, N.postgres.cost, N.postgres.idleRunSeconds);
  if (N?.mariadb) cost('gateway PostgreSQL → MariaDB, a process per department', N.mariadb.wallSeconds, N.mariadb.cost, N.mariadb.idleRunSeconds);
  if (L) cost('latency (dxg up, 3 processes)', L.cost.wallSeconds, L.cost);
  if (costs.length) {
    out.push('', 'Where the time went: CPU seconds during the part (mariadbd, RabbitMQ and machine: all users of the shared servers)');
    out.push(table(['part', 'wall s', 'idle run s', 'dxg CPU', 'PG backends CPU', 'mariadbd CPU', 'RabbitMQ CPU', 'machine busy %'], costs));
  }

  const profiles: [string, ProfileSummary | undefined][] = [
    ['gateway PostgreSQL → PostgreSQL', G?.postgres?.profile], ['gateway PostgreSQL → MariaDB', G?.mariadb?.profile],
    ['PostgreSQL → PostgreSQL, dxg run --once --department amr', N?.postgres?.profile],
    ...Object.entries(N?.postgres?.nodeProfiles ?? {}).map(([name, p]) => [`PostgreSQL → PostgreSQL, ${name} (dxg up, its start-up included)`, p] as [string, ProfileSummary]),
    ['PostgreSQL → MariaDB, dxg run --once --department amr', N?.mariadb?.profile],
    ...Object.entries(N?.mariadb?.nodeProfiles ?? {}).map(([name, p]) => [`PostgreSQL → MariaDB, ${name} (dxg up, its start-up included)`, p] as [string, ProfileSummary]),
  ];
  for (const [label, p] of profiles) {
    if (!p) continue;
    out.push('', `CPU profile of the dxg process, ${label} (node --cpu-prof, ${n(p.totalMs)} ms sampled; self time)`);
    out.push(table(['area', 'ms', '%'], p.areas.slice(0, 12).map((a) => [a.area, n(a.ms), n(a.percent, 1)])));
    out.push(table(['function', 'ms', '%'], p.functions.slice(0, 12).map((f) => [f.fn, n(f.ms), n(f.percent, 1)])));
  }

  if (r.errors.length) {
    out.push('', 'ERRORS');
    for (const e of r.errors) out.push(`  ${e.part}: ${e.error.split('\n').slice(0, 6).join('\n    ')}`);
  }
  return out.join('\n');
}
