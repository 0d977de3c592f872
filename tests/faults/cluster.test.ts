import amqp from 'amqplib';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../gateway/broker/connection';
import { Publisher } from '../../gateway/broker/publisher';
import { errorMessage } from '../../gateway/errors';
import { sleep } from '../../gateway/time';
import { deadline, waitFor } from '../helpers/broker';
import { copyGateway, type GatewayCopy } from './gateway-copy';
import { FaultExchange } from './harness';
import type { NodeProcess } from './nodes';
import { PrivateCluster, type ClusterNode } from './private-cluster';
import { renderTable, writeReport, type CaseRow } from './report';
import { caseSeed, suiteSeed } from './seed';
import { verify } from './verify';

/**
 * Where one broker is not enough, a department's nodes are given every node of a RabbitMQ cluster
 * (broker.url lists them) and its quorum queues replicate across it. Here a private 3-node cluster
 * runs a sync of DXG_FAULTS_CLUSTER_RECORDS (default 100,000) records, and the node leading the
 * flow's target queue is SIGKILLed in the middle of it: the nodes must fail over along the list by
 * themselves, never restarted, and the end state must be exact (DESIGN §5). The node killed stays
 * down: the sync finishes on the two left. Every quorum queue of the exchange must be on every node.
 * A probe publishes, from a surviving node, to a quorum queue of its own led by the node killed, its
 * first publish there just after the kill: what a channel opened by a failover does, and what
 * RabbitMQ 3.10 may nack for good on that channel (publisher.ts); it must be confirmed within seconds.
 * Prints its figures and writes them (report.ts says where).
 */
const RECORDS = records(process.env.DXG_FAULTS_CLUSTER_RECORDS);
const seed = suiteSeed();
const row: CaseRow = { name: '6 cluster node SIGKILL', faults: '', killsRestarts: '', durationMs: 0 };
const figures: string[] = [];
const started = Date.now();
let dir: string;
let gateway: GatewayCopy | undefined;
let cluster: PrivateCluster | undefined;
let fx: FaultExchange | undefined;

function records(given: string | undefined): number {
  if (given === undefined || given === '') return 100_000;
  if (!/^\d+$/.test(given) || Number(given) < 1000) throw new Error(`DXG_FAULTS_CLUSTER_RECORDS must be a whole number of at least 1000 (is ${given})`);
  return Number(given);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dxg-cluster-'));
  process.stdout.write(`\ncluster fault case: seed ${seed} (repeat with DXG_FAULTS_SEED=${seed}), ${RECORDS} records; logs in ${dir}\n`);
  gateway = await copyGateway(join(dir, 'gateway'));
  const t = Date.now();
  cluster = await PrivateCluster.start(join(dir, 'cluster'));
  figures.push(`cluster of ${cluster.nodes.length} nodes started and joined in ${seconds(Date.now() - t)}`);
}, 300_000);

afterAll(async () => {
  await fx?.destroy();
  // the cluster goes whatever happened: its processes killed, its data removed
  await cluster?.destroy();
  row.durationMs ||= Date.now() - started;
  const failed = Boolean(row.failure || row.verdict?.problems.length);
  const text = [
    `Cluster fault case (tests/faults/cluster.test.ts), seed ${seed} (repeat with DXG_FAULTS_SEED=${seed}), ${new Date().toISOString()}, total ${seconds(Date.now() - started)}`,
    '',
    renderTable([row]),
    '',
    ...figures.map((f) => `- ${f}`),
    ...(failed ? ['', 'Problems:', `- ${row.failure ?? row.verdict!.problems.join('\n  ')}`] : []),
    '',
  ].join('\n');
  process.stdout.write(`\n${text}\n`);
  for (const file of writeReport(text, 'cluster-results')) process.stdout.write(`results written to ${file}\n`);
  if (!failed && !process.env.DXG_KEEP) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`logs kept in ${dir}\n`);
}, 180_000);

/** Inserts `n` rows in chunks while the flow runs, so that extraction and publishing go on across the kill. */
async function trickle(x: FaultExchange, n: number, chunk: number, pauseMs: number): Promise<void> {
  for (let done = 0; done < n; done += chunk) {
    await x.load(Math.min(chunk, n - done), chunk);
    await sleep(pauseMs);
  }
}

/**
 * The probe: a queue (with its exchange) declared through `leader`, so led by it, and the gateway's
 * Publisher on a connection to `survivor`, its channel open and never yet used for that queue.
 */
async function probe(leader: ClusterNode, survivor: ClusterNode): Promise<{ publish(since: number, timeoutMs: number): Promise<{ ms: number; failures: number }>; close(): Promise<void> }> {
  const name = 'dxgt.probe';
  const conn = await amqp.connect(leader.url);
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(name, 'direct', { durable: true });
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.bindQueue(name, name, 'probe');
  } finally {
    await conn.close();
  }
  const broker = await Broker.connect(survivor.url, 'probe');
  const publisher = new Publisher(broker, 'guest');
  await publisher.start();
  return {
    /** Publishes one message as the relay does, again a second after each failure, until it is confirmed. */
    async publish(since, timeoutMs) {
      for (let failures = 0; ; failures++) {
        try {
          await publisher.publish(name, 'probe', Buffer.from('probe'), { messageId: `probe-${failures}` });
          return { ms: Date.now() - since, failures };
        } catch (err) {
          if (Date.now() - since > timeoutMs) throw new Error(`the probe's publish was not confirmed within ${seconds(timeoutMs)} of the kill (${failures + 1} failures, the last: ${errorMessage(err)})`);
          await sleep(1000);
        }
      }
    },
    async close() {
      await publisher.stop();
      await broker.close();
    },
  };
}

/** When each of a process's broker connections was up again after `since`, from its log ("broker connected"). */
function reconnections(node: NodeProcess, since: number): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(node.logFile)) return out;
  for (const line of readFileSync(node.logFile, 'utf8').split('\n')) {
    if (!line.includes('"broker connected"')) continue;
    try {
      const entry = JSON.parse(line) as { connection?: string; timestamp?: string };
      const at = Date.parse(entry.timestamp ?? '');
      if (entry.connection && at >= since && !out.has(entry.connection)) out.set(entry.connection, at);
    } catch {
      // a line cut short
    }
  }
  return out;
}

describe('a RabbitMQ cluster: the node leading the flow\'s quorum queues killed mid-sync', () => {
  it('fails over along broker.url; nothing lost, duplicated or regressed; no department node restarted', async () => {
    const t0 = Date.now();
    let prober: Awaited<ReturnType<typeof probe>> | undefined;
    try {
      if (!cluster || !gateway) throw new Error('the case did not set up (private cluster, gateway copy)');
      fx = await FaultExchange.create({ name: 'cluster', broker: cluster, gateway, dir, seed: caseSeed(seed, 'cluster') });
      const x = fx;
      const queues = { qs: `dxg.${x.ex.name}.qs.flow.registry`, tax: `dxg.${x.ex.name}.tax.flow.registry` };
      // flow queues, receipts and dead letters alike: a queue on fewer nodes could be lost with the node killed
      const declared = await cluster.queues(`dxg.${x.ex.name}.`);
      const partial = declared.filter((q) => q.type !== 'quorum' || (q.members ?? []).length !== cluster!.nodes.length);
      if (declared.length === 0 || partial.length) throw new Error(`queues not replicated across the cluster: ${partial.map((q) => `${q.name} (${q.type}) on ${(q.members ?? []).join(', ')}`).join('; ') || 'none declared'}`);

      await x.load(Math.round(RECORDS * 0.6));
      const syncStart = Date.now();
      await x.startNodes();
      const loading = trickle(x, RECORDS - Math.round(RECORDS * 0.6), 2000, 300);
      await x.whenTargetHolds(Math.round(RECORDS * 0.3), 300_000);

      const leader = await cluster.leaderOf(queues.qs);
      const taxLeader = await cluster.leaderOf(queues.tax);
      prober = await probe(leader, cluster.nodes.find((n) => n !== leader)!);
      const probeLeader = (await cluster.leaderOf('dxgt.probe')).name;
      if (probeLeader !== leader.name) throw new Error(`the probe queue is led by ${probeLeader}, not by the node to be killed (${leader.name})`);
      const connections = await cluster.connectionsByNode(`${x.ex.name}.`);
      const onLeader = connections.get(leader.name) ?? 0;
      const total = [...connections.values()].reduce((a, b) => a + b, 0);
      const applied = await x.targetCount();
      const pending = await x.pending();
      leader.kill();
      const killedAt = leader.killedAt!;
      // its first publish once the node is gone, before a new leader is likely known
      while (leader.running && Date.now() - killedAt < 5000) await sleep(5);
      const probing = deadline(prober.publish(killedAt, 60_000), 90_000, 'a confirm of the probe\'s publish').catch((err: Error) => err);
      const survivors = cluster.alive().map((n: ClusterNode) => n.name);
      if (applied >= RECORDS || pending.awaitingReceipt === 0) throw new Error(`the kill did not land mid-sync: ${applied} rows applied at qs, ${JSON.stringify(pending)}`);

      const elected = await waitFor('a new leader of the qs queue', async () => {
        const info = await cluster!.queue(queues.qs).catch(() => null);
        return info?.leader && info.leader !== leader.name && survivors.includes(info.leader) ? info.leader : undefined;
      }, 60_000);
      const electedMs = Date.now() - killedAt;
      await waitFor('applies at qs to resume', async () => (await x.targetCount()) > applied, 120_000);
      const resumedMs = Date.now() - killedAt;
      await loading;
      const { quietSince } = await x.converge({ timeoutMs: 600_000, stallMs: 90_000 });
      const syncMs = Date.now() - syncStart;

      const back = new Map([...reconnections(x.source, killedAt), ...reconnections(x.target, killedAt)]);
      const reconnected = [...back].map(([c, at]) => `${c} ${seconds(at - killedAt)}`).join(', ') || 'none';
      const probed = await probing;
      row.verdict = await verify(x, quietSince);
      if (probed instanceof Error) row.verdict.problems.push(probed.message);
      if (x.source.starts !== 1 || x.target.starts !== 1) row.verdict.problems.push(`a department node was restarted: source ${x.source.starts}, target ${x.target.starts} starts`);
      if (back.size < onLeader) row.verdict.problems.push(`${onLeader} node connection(s) were on the node killed, but only ${back.size} came back: ${reconnected}`);

      row.faults = `SIGKILL of ${leader.name.split('@')[0]} (leader of qs${taxLeader === leader ? ' and tax' : ''} queues, ${onLeader}/${total} node connections) at ${applied} rows applied; new leader in ${seconds(electedMs)}`;
      row.killsRestarts = `0/0 (broker node 1/0)`;
      figures.push(
        `records: ${RECORDS} (${Math.round(RECORDS * 0.6)} before the nodes started, the rest inserted while they ran); sync ${seconds(syncMs)} from the nodes' start to convergence`,
        `${declared.length} quorum queues (flows, receipts, dead letters), each on all ${cluster.nodes.length} nodes; qs queue led by ${leader.name}, tax queue by ${taxLeader.name}; killed at ${applied} rows applied at qs (${pending.behind} rows behind, ${pending.outbox} in the outbox, ${pending.awaitingReceipt} awaiting receipt)`,
        `failover: new qs leader ${elected} after ${seconds(electedMs)}; department connections back on a survivor: ${reconnected}; applies resumed after ${seconds(resumedMs)}`,
        probed instanceof Error
          ? `probe (first publish to a queue led by the node killed, just after the kill): ${probed.message}`
          : `probe (first publish to a queue led by the node killed, just after the kill): confirmed ${seconds(probed.ms)} after the kill, after ${probed.failures} failed attempt(s)`,
        `department nodes started once each (source ${x.source.starts}, targets ${x.target.starts}); the node killed stayed down to the end`,
      );
    } catch (err) {
      row.failure = (err as Error).stack ?? String(err);
    } finally {
      await prober?.close().catch(() => undefined);
      row.durationMs = Date.now() - t0;
      if (fx && (row.failure || row.verdict?.problems.length)) process.stdout.write(`\n[${row.name}] failed; node logs:\n${fx.logTails()}\n`);
    }
    expect(row.failure).toBeUndefined();
    expect(row.verdict?.problems).toEqual([]);
    const duplicated = Object.values(row.verdict!.ledgers.targets).reduce((n, t) => n + t.appliedTwice, 0);
    expect({ lost: row.verdict!.qs.lost + row.verdict!.tax.lost, duplicated, regressed: row.verdict!.qs.regressed + row.verdict!.tax.regressed })
      .toEqual({ lost: 0, duplicated: 0, regressed: 0 });
  });
});
