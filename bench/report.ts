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
  const records = r.options.parts.some((p) => !p.startsWith('centre-')) ? ` — ${n(r.rows)} enterprise records` : ' — the exchange centre';
  out.push(`dxg bench${records}${r.label ? ` — ${r.label}` : ''} — ${r.startedAt}`);
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
  const floors = Object.entries(r.floor ?? {}).filter(([, c]) => c);
  for (const [wire, c] of floors) {
    rows.push([`C: ${floorLabel(wire)}`, n(c.records), n(c.wallSeconds, 2), n(c.recordsPerSecond), ratio(c, A?.postgres), '', '']);
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

  out.push(...centreReport(r));

  const costs: (string | number)[][] = [];
  const cost = (label: string, wall: number, c: CostReport, idle?: number) => costs.push([label, n(wall, 1), idle === undefined ? '–' : n(idle, 2),
    n(c.gatewayCpuSeconds, 1), n(c.postgresBackendCpuSeconds, 1), n(c.mariadbCpuSeconds, 1), n(c.rabbitmqCpuSeconds, 1), n(c.machineBusyPercent)]);
  // the floor runs inside the bench process: its CPU stands in the dxg column
  for (const [wire, c] of floors) cost(`C: ${floorLabel(wire)} (the bench process)`, c.wallSeconds, { ...c.cost, gatewayCpuSeconds: c.cost.benchCpuSeconds });
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

/** The exchange centre's parts: collecting a backlog, lag at a steady rate, one record's trail, memory. */
function centreReport(r: Results): string[] {
  const C = r.centre;
  const out: string[] = [];
  if (!C) return out;
  if (r.machine?.settings['postgres.autovacuum'] === 'off' && (C.collect || C.lag || C.memory)) {
    out.push('', 'Note: autovacuum is off on this PostgreSQL server: the centre refreshes its tables\' statistics itself, every five minutes, '
      + 'so in the first minutes of a run its monitor queries plan with an empty table\'s statistics (see bench/README.md).');
  }
  const c = C.collect;
  if (c) {
    const p = c.produce;
    const d = c.drain;
    out.push('', `Exchange centre: collecting (${n(c.departments)} departments' ledgers — Ledger.append, Ed25519 — ${n(c.batch)} entr${c.batch === 1 ? 'y' : 'ies'} per transaction and `
      + `audit-feed message, ${n(c.keysPerEntry)} keys per publish/apply; appended while dxg centre is down, then collected: chain and signature of every entry checked)`);
    out.push(table(['step', 'entries', 'messages', 'wall s', 'entries/s', 'CPU s', 'peak RSS MiB', 'PG backends CPU', 'RabbitMQ CPU', 'machine busy %'], [
      ['departments append + publish (bench process)', n(p.entries), n(p.messages), n(p.wallSeconds, 1), n(p.entriesPerSecond), n(p.benchCpuSeconds, 1), '', '', '', ''],
      [`dxg centre collects (ready after ${n(d.readySeconds, 1)} s)`, n(d.entries), n(d.messages), n(d.wallSeconds, 1), `${n(d.entriesPerSecond)} (${n(d.entriesPerSecondAfterReady)} after ready)`,
        n(d.centreCpuSeconds, 1), `${n(d.peakRssMiB, 1)} (${n(d.peakRssAtTenthMiB, 1)} at 1/10)`, n(d.cost.postgresBackendCpuSeconds, 1), n(d.cost.rabbitmqCpuSeconds, 1), n(d.cost.machineBusyPercent)],
    ]));
  }
  const L = C.lag;
  if (L) {
    out.push('', `Exchange centre: lag, department commit → centre, at ${n(L.rateTarget)} entries/s (${n(L.entries)} entries in ${n(L.seconds, 1)} s = ${n(L.achievedRate)}/s, `
      + `${n(L.commits)} transactions; the centre held ${n(L.centreHeldBefore)} entries before; centre CPU ${n(L.centreCpuSeconds, 1)} s, departments' code ${n(L.benchCpuSeconds, 1)} s, machine busy ${n(L.cost.machineBusyPercent)} %)`);
    // a percentile among entries the centre had not reached by the end is only known to be over the whole run
    const over = `> ${n((L.seconds + L.waitSeconds) * 1000)}`;
    const ms = (v: number | null) => (v === null ? over : n(v));
    out.push(table(['commit →', 'entries', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms (of those in)', 'not in by the end'], [
      ['stored (centre_ledger.received_at)', n(L.stored.count), ms(L.stored.p50Ms), ms(L.stored.p95Ms), ms(L.stored.p99Ms), ms(L.stored.maxMs), n(L.stored.meanMs), ''],
      [`checked (copy complete past it; polled every ${L.pollMs} ms)`, n(L.checked.count), ms(L.checked.p50Ms), ms(L.checked.p95Ms), ms(L.checked.p99Ms), ms(L.checked.maxMs), n(L.checked.meanMs), n(L.behind)],
    ]));
    if (L.behind) out.push(`${n(L.behind)} entries were not in the centre's checked copy ${n(L.waitSeconds, 0)} s after the departments stopped (${n(L.queuedAfter)} messages still in its queue): it collects slower than ${n(L.rateTarget)} entries/s.`);
    const p95 = L.checked.p95Ms;
    out.push(`Target p95 ≤ 2 s at ${n(L.rateTarget)} entries/s: ${p95 !== null && p95 <= 2000 && L.achievedRate >= L.rateTarget * 0.95 ? 'met' : 'NOT met'}${L.achievedRate < L.rateTarget * 0.95 ? ` (the departments reached only ${n(L.achievedRate)}/s)` : ''}.`);
  }
  const S = C.search;
  if (S) {
    out.push('', `Exchange centre: one record's trail, ${n(S.keys)} record keys (${n(S.keysPerEntry)} per message, ${n(S.departments)} departments → credit): ${n(S.entries)} entries, `
      + `${n(S.keyRows)} key rows; centre_ledger ${n(S.sizesMiB.centreLedger)} MiB, centre_record_keys ${n(S.sizesMiB.centreRecordKeys)} MiB, department ledgers ${n(S.sizesMiB.departmentLedgers)} MiB; `
      + `filled in ${n(S.fillSeconds.centreLedger + S.fillSeconds.centreRecordKeys + S.fillSeconds.centreIndex + S.fillSeconds.departmentLedgers)} s`);
    out.push(table(['question', 'keys', 'p50 ms', 'p95 ms', 'max ms', 'mean ms'], [
      ['centre: recordTrail (key index; /api/trail)', n(S.centreTrail.count), n(S.centreTrail.p50Ms, 1), n(S.centreTrail.p95Ms, 1), n(S.centreTrail.maxMs, 1), n(S.centreTrail.meanMs, 1)],
      ['centre: searchAudit --key, limit 100 (/api/audit)', n(S.centreAudit.count), n(S.centreAudit.p50Ms, 1), n(S.centreAudit.p95Ms, 1), n(S.centreAudit.maxMs, 1), n(S.centreAudit.meanMs, 1)],
      [`departments today: collectTrail, record_keys LIKE over ${n(S.departments + 1)} ledgers`, n(S.departmentTrail.count), n(S.departmentTrail.p50Ms), n(S.departmentTrail.p95Ms), n(S.departmentTrail.maxMs), n(S.departmentTrail.meanMs)],
    ]));
    out.push(`Same entries both ways for ${n(S.agreed)} of ${n(S.departmentTrail.count)} keys asked of both.`);
  }
  const M = C.memory;
  if (M?.runs.length) {
    out.push('', `Exchange centre: memory (dxg centre collecting N and 10×N entries from ${n(M.departments)} departments, ${n(M.batch)} per message)`);
    out.push(table(['entries', 'collect s', 'entries/s', 'peak RSS MiB', 'centre CPU s'], M.runs.map((x) => [n(x.entries), n(x.drainSeconds, 1), n(x.entriesPerSecond), n(x.peakRssMiB, 1), n(x.centreCpuSeconds, 1)])));
  }
  return out;
}

/** Baseline C's pipes: bare, or with the least work of each guarantee (bench/floor-kept.ts). */
function floorLabel(wire: string): string {
  return wire === 'copy-text-kept' ? 'copy-text with each guarantee\'s least work' : `bare pipe via RabbitMQ, ${wire} (no guarantees)`;
}
