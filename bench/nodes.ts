/**
 * The bulk sync as deployed: each department's node in its own process (in production on its own
 * front-end processor beside its database). The target departments' nodes run under `dxg up`; the
 * source's node is `dxg run --once --department <source>`, timed from spawn to exit as in the
 * one-process part, and waits for the receipts the other processes send back.
 */
import type { BenchExchange, DxgChild } from './exchange';
import { gatewaySync, type GatewayResult, type SyncOptions } from './gateway';
import { summarizeProfile, type ProfileSummary } from './profile';

export interface NodesResult extends GatewayResult {
  /** the largest peak RSS of one process (the memory target is per gateway process); cost.peakRssMiB is their sum */
  maxPeakRssMiB: number;
  /** how each dxg up ended after SIGTERM (0: drained cleanly) */
  nodeExitCodes: Record<string, number>;
  /** with --cpu-prof: where each dxg up process spent its time */
  nodeProfiles?: Record<string, ProfileSummary>;
}

/** Starts `dxg up --department <dept>` and resolves once it logged 'nodes up'; fails if it exits or takes over 60 s. */
async function upNode(exchange: BenchExchange, name: string, dept: string): Promise<DxgChild> {
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  let seen = '';
  const child = exchange.start(name, ['up', '--department', dept], {
    logLevel: 'info', // 'nodes up' is an info line
    onStderr: (text) => {
      seen = (seen + text).slice(-2000);
      if (seen.includes('nodes up')) ready();
    },
  });
  let timer!: NodeJS.Timeout;
  const slow = new Promise<'slow'>((r) => (timer = setTimeout(() => r('slow'), 60_000)));
  const outcome = await Promise.race([up.then(() => 'up' as const), child.done.then(() => 'exited' as const), slow]);
  clearTimeout(timer);
  if (outcome === 'up') return child;
  child.stop('SIGKILL');
  const r = await child.done;
  throw new Error(`dxg up --department ${dept} ${outcome === 'exited' ? `exited ${r.code} before 'nodes up'` : "did not say 'nodes up' within 60 s"}\n`
    + `${r.stderrTail.slice(-1500)}\n(log: ${exchange.logFile(name)})`);
}

/** SIGTERM (they drain and exit), SIGKILL after 30 s; each one's exit code. */
async function stopNodes(nodes: DxgChild[]): Promise<Record<string, number>> {
  const ending = nodes.map((n) => n.done);
  for (const n of nodes) n.stop('SIGTERM');
  const killer = setTimeout(() => nodes.forEach((n) => n.stop('SIGKILL')), 30_000);
  const ended = await Promise.all(ending);
  clearTimeout(killer);
  return Object.fromEntries(nodes.map((n, i) => [n.name, ended[i].code]));
}

/**
 * `targets`' departments under `dxg up` (started before, not timed: a deployed node is always up),
 * then the one-process part's measurement and checks with only the source's node in the timed
 * process. Cost covers both: the timed process, and the nodes' CPU while it ran and their peak RSS.
 */
export async function nodesSync(o: Omit<SyncOptions, 'departments' | 'alongside'> & { nodes: string[] }): Promise<NodesResult> {
  const running: DxgChild[] = [];
  try {
    for (const dept of o.nodes) running.push(await upNode(o.exchange, `${o.label}-up-${dept}`, dept));
    o.say(`${o.label}: dxg up --department ${o.nodes.join(', ')} is up; timing dxg run --once --department ${o.exchange.source}`);
    const r = await gatewaySync({ ...o, departments: [o.exchange.source], alongside: running });
    const nodeExitCodes = await stopNodes(running);
    return {
      ...r, maxPeakRssMiB: Math.max(...r.cost.processes.map((p) => p.peakRssMiB)), nodeExitCodes,
      nodeProfiles: nodeProfiles(o.exchange, running, o.say),
    };
  } finally {
    for (const n of running) n.stop('SIGKILL');
    await Promise.all(running.map((n) => n.done));
  }
}

/** The nodes' CPU profiles (written when they exit; start-up and the idle time before the run included). */
function nodeProfiles(exchange: BenchExchange, nodes: DxgChild[], say: (msg: string) => void): Record<string, ProfileSummary> | undefined {
  if (!exchange.profileDir) return undefined;
  const out: Record<string, ProfileSummary> = {};
  for (const n of nodes) {
    try {
      out[n.name] = summarizeProfile(exchange.profileFile(n.name)!);
    } catch (err) {
      say(`${n.name}: cannot read the CPU profile: ${(err as Error).message}`);
    }
  }
  return out;
}
