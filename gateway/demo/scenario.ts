import { Broker } from '../broker/connection';
import { withDatabases } from '../cli/databases';
import { runSummary } from '../cli/summary';
import { collectTrail, trailTable, verifyLedgers } from '../cli/trail';
import type { Project } from '../config/project';
import { exchangeKeyring } from '../envelope/keys';
import { DxgError } from '../errors';
import { log } from '../log';
import { initExchange } from '../node/init';
import { Runtime, type FlowRun } from '../node/runtime';
import { buildDepartments, closeAll } from './build';
import { centreView, DEMO_LOGINS, startDemoCentre } from './centre';
import { applyAndApprove, revoke } from './grants';
import { sleep } from '../time';
import { Topology } from '../broker/topology';
import { applyChanges, planChanges } from './changes';
import { firstReasons } from './excerpt';
import { generateEnterprises, generatePersons } from './generate';
import { readOutcomes } from './outcomes';
import { flowCounts } from '../ledger/counts';
import {
  departmentsTable, describeChanges, heading, outcomesText, planted, reconciliationTable, renderHints, setAsideLines, SUMMARY_LEGEND, verdict,
} from './report';

export interface DemoOptions {
  seed: number;
  enterprises: number;
  persons: number;
  /** per round, for every receipt to come back */
  timeoutMs: number;
  /** what to put after `dxg` in the hints for this config (e.g. `--config x.yaml `) */
  /** how the hints call dxg, its --config included (`node bin/dxg `, `dxg --config … `) */
  command: string;
}

/**
 * `dxg demo`: the seeds' scenario on the local servers. Market regulation's enterprise register goes
 * to tax and quality supervision, public security's population register to civil affairs; two
 * rounds (everything, then only what changed), then the accounts, the audit trail and the ledgers.
 * Returns whether everything reconciled and every ledger verified.
 */
export async function runDemo(project: Project, options: DemoOptions, out: (text: string) => void): Promise<boolean> {
  const enterprises = generateEnterprises(options.enterprises, options.seed);
  const persons = generatePersons(options.persons, options.seed);
  const changes = planChanges(enterprises, persons, options.seed);
  // a renamed enterprise travels in both rounds to both targets: the fullest trail to show
  const traced = changes.renames[0];
  const dxg = options.command;
  out(`dxg demo: exchange '${project.config.exchange}', seed ${options.seed} — ${options.enterprises} enterprises at market regulation, ${options.persons} persons at public security`);

  let t = Date.now();
  let step = 0;
  const built = await buildDepartments(project, enterprises, persons);
  const conn = (d: string) => built.get(d)!.connection;
  try {
    out(heading(++step, 'Department databases, reset (the demo only touches databases named dxg_*)', Date.now() - t));
    out(departmentsTable(project, built));
    out(planted(enterprises, persons));

    t = Date.now();
    const keyring = exchangeKeyring(project.config);
    const created = keyring.generate(project.config.departments.keys());
    const init = await initExchange(project);
    const failed = init.departments.filter((d) => !d.ok);
    if (failed.length || init.problems.length) {
      throw new DxgError('DXG_CATALOG', `init found problems:\n${[...failed.map((d) => `${d.id}: ${d.message}`), ...init.problems].join('\n')}`);
    }
    await purge(project, init.queues);
    out(heading(++step, 'Keys, bookkeeping tables and broker topology (dxg keys generate, dxg init)', Date.now() - t));
    out(`key pairs: ${created.length ? `created for ${created.join(', ')}` : 'all present'} (${project.config.dirs.keys}); `
      + `bookkeeping tables in ${init.departments.length} databases; ${init.queues.length} queues declared and emptied; each department on its own broker user (${init.users.join(', ')})`);
    for (const u of init.unbound) out(`not bound (no grant yet): ${u}`);

    // the centre follows the exchange live from the start: it is never on the data path
    const centre = await startDemoCentre(project);
    if (centre) out(`the exchange centre serves ${centre.url} (dxg centre), on its own database and broker user (${Topology.of(project.config).centreUser})`);
    let centreText: { text: string; ok: boolean } | null = null;
    // with a catalog, nothing conditional travels before an application is approved
    const governed = centre && project.catalog ? await applyAndApprove(centre, project).catch(async (err) => {
      await centre.centre.stop();
      throw err;
    }) : null;
    if (governed) {
      out(heading(++step, 'The resource catalog, an application and its approval (信息资源目录, 申请审批)'));
      out(governed.text);
    }
    const runtime = await Runtime.start(project, { label: 'demo' }).catch(async (err) => {
      await centre?.centre.stop();
      throw err;
    });
    try {
      t = Date.now();
      const first = await round(runtime, options.timeoutMs);
      out(heading(++step, 'First exchange: every record travels (dxg run --once)', Date.now() - t));
      out(runSummary(project, first));
      out(SUMMARY_LEGEND);

      await applyChanges(conn('amr'), conn('police'), changes);
      t = Date.now();
      const second = await round(runtime, options.timeoutMs, true);
      out(heading(++step, 'Second exchange: incremental — only the changed records travel', Date.now() - t));
      out(describeChanges(changes));
      out(runSummary(project, second));
      if (governed) {
        t = Date.now();
        const revoked = await revoke(centre!, governed.grant);
        // the source decides with the list the centre sends it: wait until it holds the revocation
        const deadline = Date.now() + 30_000;
        while ((runtime.governance?.version ?? 0) < revoked.version && Date.now() < deadline) await sleep(100);
        const resync = await runtime.runOnce({ flows: ['person-basic'], full: true, timeoutMs: options.timeoutMs });
        const civil = resync[0].stats.targets.get('civil')!;
        out(heading(++step, 'A grant revoked: public security stops sharing with civil affairs (dxg revoke)', Date.now() - t));
        out(revoked.text);
        out(`a full resync of person-basic afterwards (dxg run --once --full --flow person-basic): ${resync[0].stats.extracted} records extracted, `
          + `${civil.published} sent to civil, ${civil.withheld} withheld — counted as withheld in the reconciliation below`);
      }
      // while the nodes still run: the centre asks them to check their own ledgers
      if (centre) centreText = await withDatabases(project, (dbs) => centreView(centre, dbs, traced.credit_code));
    } finally {
      await runtime.stop();
      await centre?.centre.stop();
    }

    out(heading(++step, 'What the receiving departments hold now'));
    out(outcomesText(await readOutcomes({ amr: conn('amr'), tax: conn('tax'), qs: conn('qs'), civil: conn('civil') }), changes));

    const ok = await withDatabases(project, async (opened, unreachable) => {
      // in the config's order, not the order the connections happened to open in
      const dbs = new Map([...project.config.departments.keys()].filter((d) => opened.has(d)).map((d) => [d, opened.get(d)!]));
      for (const [d, why] of unreachable) out(`(the ledger of ${d} is unavailable: ${why})`);
      const accounts = await flowCounts(project, dbs);
      out(heading(++step, 'Reconciliation, from the ledgers and receipts of the department databases'));
      out(reconciliationTable(accounts));
      out(verdict(accounts));

      const before = enterprises.find((e) => e.row.credit_code === traced.credit_code)!.row.ent_name;
      out(heading(++step, 'Audit trail'));
      out(`The steps of enterprise ${traced.credit_code} (${before}, renamed ${traced.ent_name} in round 2),\nas \`${dxg}audit --key ${traced.credit_code}\` shows them:`);
      out(trailTable(await collectTrail(dbs, { key: traced.credit_code, limit: 1000 })));
      out('Quarantined at the sources, by reason (dxg_quarantine):');
      out(setAsideLines(await firstReasons(project, dbs, 'source'), 'none'));
      out('Rejected by the targets, by reason (dxg_quarantine of the target):');
      out(setAsideLines(await firstReasons(project, dbs, 'target'), 'none'));
      out(`Ledger verification (\`${dxg}audit verify\`):`);
      const verified = await verifyLedgers(dbs, unreachable, keyring);
      out(verified.lines.map((l) => `  ${l}`).join('\n'));
      if (centreText) {
        out(heading(++step, 'The exchange centre (交换中心)'));
        out(centreText.text);
      }
      return verified.broken === 0 && accounts.every((a) => a.problems.length === 0 && a.awaitingReceipt === 0) && (centreText?.ok ?? true);
    });

    out(`\nNext:\n${renderHints([
      [`${dxg}status`, 'per flow and target: checkpoint, lag, pending messages, counts'],
      [`${dxg}audit --flow enterprise-basic`, 'the exchange log of one flow'],
      [`${dxg}audit --key ${traced.credit_code}`, "one record's steps through every department"],
      [`${dxg}audit verify`, "every ledger's hash chain and signatures"],
      ...(centreText ? [
        [`${dxg}up`, 'the department nodes, serving until stopped: the centre asks them (quarantine, replay, verification)'],
        [`${dxg}centre`, 'the exchange centre, serving until stopped (its API, /metrics; its copy is rebuilt by the next demo)'],
        [`${project.config.centre!.url}/`, 'then the web console in a browser (交换中心控制台): overview, audit, quarantine, catalog, applications, nodes, journal'],
        [`${dxg}login --user auditor`, `then ${dxg}status --centre and ${dxg}audit --centre`],
      ] as [string, string][] : []),
    ])}`);
    if (centreText) out(`Demo logins of the centre and its console (for the demo only): ${DEMO_LOGINS.map((l) => `${l.name} / ${l.password} (${l.role}${l.department ? ` of ${l.department}` : ''})`).join(', ')}`);
    return ok;
  } finally {
    await closeAll(built);
  }
}

async function round(runtime: Runtime, timeoutMs: number, reconcile = false): Promise<FlowRun[]> {
  const runs = await runtime.runOnce({ timeoutMs, reconcile });
  for (const r of runs) log.info('demo: flow done', { flow: r.stats.flow, extracted: r.stats.extracted, receipts: r.receipts.size });
  return runs;
}

/** A previous demo cut short may have left envelopes and receipts for the databases just dropped. */
async function purge(project: Project, queues: string[]): Promise<void> {
  const broker = await Broker.connect(project.config.broker.url, 'demo', false, project.config.broker.ca);
  try {
    await broker.withChannel(async (ch) => {
      for (const q of queues) await ch.purgeQueue(q);
    });
  } finally {
    await broker.close();
  }
}
