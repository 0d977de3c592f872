import type { Database } from '../../adapters/adapter';
import { createDatabase } from '../../adapters';
import { sql } from '../../adapters/sql';
import { Broker } from '../broker/connection';
import { Topology } from '../broker/topology';
import { centreCall } from '../centre/client';
import type { NodeView, TargetView } from '../centre/monitor';
import { createCentreSchema } from '../centre/schema';
import { Centre } from '../centre/service';
import { putUser, type Role } from '../centre/users';
import type { LedgerVerdict } from '../centre/verify';
import type { Alarm } from '../centre/alarms';
import { connect } from '../../adapters';
import { fromJson, trailTable, type TrailJson } from '../cli/trail';
import { renderTable } from '../cli/table';
import type { Project } from '../config/project';
import { sleep } from '../time';
import { resettableName } from './server';

/** The demo's users of the centre: for the demo only, printed with their passwords. */
export const DEMO_LOGINS: { name: string; role: Role; department: string | null; password: string }[] = [
  { name: 'auditor', role: 'auditor', department: null, password: 'demo-auditor' },
  { name: 'operator', role: 'operator', department: null, password: 'demo-operator' },
  { name: 'approver-amr', role: 'approver', department: 'amr', password: 'demo-approver' },
  { name: 'approver-police', role: 'approver', department: 'police', password: 'demo-approver' },
];

export interface DemoCentre {
  centre: Centre;
  url: string;
  token: string;
}

/**
 * The centre for the demo's run, on a fresh database (named dxg_*, like the departments'), with an
 * empty feed queue (what a previous run left names ledgers that were just dropped) and demo logins.
 */
export async function startDemoCentre(project: Project): Promise<DemoCentre | null> {
  const config = project.config.centre;
  if (!config) return null;
  resettableName(config.database.url, 'centre');
  await createDatabase(config.database, { replace: true });
  const db = await connect(config.database, 'demo centre');
  try {
    await createCentreSchema(db);
    for (const u of DEMO_LOGINS) await putUser(db, u, u.password);
  } finally {
    await db.close();
  }
  const broker = await Broker.connect(project.config.broker.url, 'demo', false, project.config.broker.ca);
  try {
    await broker.withChannel((ch) => ch.purgeQueue(Topology.of(project.config).centreQueue)).catch(() => undefined);
  } finally {
    await broker.close();
  }
  const centre = await Centre.start(project);
  const { token } = await centreCall<{ token: string }>(centre.url, '/api/login', { method: 'POST', body: { name: 'auditor', password: 'demo-auditor' }, token: null });
  return { centre, url: centre.url, token };
}

/**
 * The centre's view once it holds every ledger to its head and has a heartbeat of every node after
 * the last round: its nodes, its figures, one record's trail from its copy, its alarms and its
 * verification (with each node's own check, while the nodes still run).
 */
export async function centreView(demo: DemoCentre, dbs: Map<string, Database>, key: string, timeoutMs = 60_000): Promise<{ text: string; ok: boolean }> {
  const heads = new Map<string, string>();
  for (const [d, db] of dbs) heads.set(d, String((await db.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`))[0].seq));
  const call = <T>(path: string) => centreCall<T>(demo.url, path, { token: demo.token });
  const deadline = Date.now() + timeoutMs;
  let nodes: NodeView[] = [];
  for (;;) {
    nodes = await call<NodeView[]>('/api/nodes');
    const caughtUp = nodes.every((n) => n.collected === heads.get(n.department) && n.head?.seq === heads.get(n.department));
    if (caughtUp || Date.now() > deadline) break;
    await sleep(250);
  }
  const status = await call<{ targets: TargetView[] }>('/api/status');
  const trail = await call<{ entries: TrailJson[] }>(`/api/trail?key=${encodeURIComponent(key)}&reason=${encodeURIComponent('dxg demo: one record through the exchange')}`);
  const verified = await call<{ intact: boolean; departments: LedgerVerdict[] }>('/api/verify?wait=15');
  const alarms = await call<Alarm[]>('/api/alarms?open=true');
  const complete = nodes.every((n) => n.collected === heads.get(n.department));
  const text = [
    `The centre at ${demo.url} collected every department's ledger from the audit feed, checking each entry's chain and signature:`,
    renderTable(['department', 'name', 'version', 'last heartbeat', 'ledger head', 'collected, checked', 'copy'], nodes.map((n) => [
      n.department, n.name, n.version ?? '-', n.heartbeatAt ? n.heartbeatAt.replace('T', ' ').slice(0, 19) : 'none', n.head?.seq ?? '-', n.collected,
      n.broken ? `BROKEN at ${n.broken.seq}` : n.collected === heads.get(n.department) ? 'complete' : `behind (ledger at ${heads.get(n.department)})`,
    ])),
    'Every flow target as the centre sees it (dxg status --centre): counts from the sources\' heartbeats, checked against the targets\' ledgers; lag from the envelope\'s commit at the source to its apply:',
    renderTable(['flow', 'target', 'published', 'applied', 'rejected', 'lag p50 / p95', 'reconciled'], status.targets.map((t) => [
      t.flow, t.target, t.counts?.published ?? '?', t.counts?.applied ?? '?', t.counts?.rejected ?? '?', t.lag ? `${t.lag.p50.toFixed(2)} s / ${t.lag.p95.toFixed(2)} s` : '-',
      t.reconciled === null ? '?' : t.reconciled ? 'yes' : t.counts!.problems.join('; '),
    ])),
    `The same record's trail from the centre's copy (dxg audit --centre --key ${key}; identity numbers masked unless revealed with a reason):`,
    trailTable(fromJson(trail.entries)),
    `Verification at the centre (its copy, the heads it countersigned, and each node's own check): ${verified.intact ? 'every ledger intact' : 'NOT intact'}`,
    ...verified.departments.filter((d) => !d.intact).map((d) => `  ${d.department}: ${d.problems.join('; ')}`),
    `Open alarms: ${alarms.length ? alarms.map((a) => `${a.kind} (${a.department ?? '-'}): ${a.reason}`).join('\n  ') : 'none'}`,
  ].join('\n');
  return { text, ok: complete && verified.intact };
}
