import amqp from 'amqplib';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../gateway/time';
import { freePort, rabbitBin } from './private-broker';

const run = promisify(execFile);
const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** A timer that does not keep the process alive (for races against an exit). */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Every node process any cluster of this run started: killed when the test process exits, however it exits. */
const started = new Set<ClusterNode>();
process.once('exit', () => {
  for (const node of started) node.kill();
});

/**
 * One node of a private RabbitMQ cluster: its own name, ports, data, logs and configuration under
 * its folder; the Erlang cookie and HOME are the cluster's, so the nodes and rabbitmqctl trust each other.
 */
export class ClusterNode {
  private process: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** set once the test killed it: it stays down */
  killedAt: number | null = null;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly home: string,
    readonly port: number,
    private readonly distPort: number,
    readonly managementPort: number,
  ) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  get adminUrl(): string {
    return `http://guest:guest@127.0.0.1:${this.managementPort}`;
  }

  get running(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Writes its configuration and starts it; resolves once it takes AMQP connections and its management API answers. */
  async boot(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'rabbitmq.conf'), [
      `listeners.tcp.1 = 127.0.0.1:${this.port}`,
      'management.tcp.ip = 127.0.0.1',
      `management.tcp.port = ${this.managementPort}`,
      'log.console = false',
      'log.file.level = warning',
      // three nodes share one machine: each is told it may use a fifth of it
      'vm_memory_high_watermark.relative = 0.2',
      '',
    ].join('\n'));
    writeFileSync(join(this.dir, 'enabled_plugins'), '[rabbitmq_management].\n');
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '# the suite\'s own node: nothing from /etc/rabbitmq\n');
    const out = openSync(join(this.dir, 'server.out'), 'a');
    const child = spawn(join(rabbitBin(), 'rabbitmq-server'), [], { env: this.env(), cwd: this.dir, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    this.process = child;
    started.add(this);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.whenServing();
  }

  /** Waits until the node takes AMQP connections and its management API answers (after a boot or a start_app). */
  async whenServing(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`cluster node ${this.name} exited at start (see ${this.dir})`);
      try {
        const conn = await amqp.connect(this.url);
        await conn.close();
        await this.api('/api/overview');
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`cluster node ${this.name} did not serve within ${timeoutMs / 1000} s (see ${this.dir})`);
        await sleep(250);
      }
    }
  }

  /** A GET on its management API, as JSON. */
  async api<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.managementPort}${path}`, { headers: { authorization: GUEST }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`management API of ${this.name}: ${path} answers ${res.status}`);
    return (await res.json()) as T;
  }

  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run(join(rabbitBin(), 'rabbitmqctl'), ['-n', this.name, ...args], { env: this.env(), cwd: this.dir, timeout: 120_000 });
    return stdout;
  }

  /** SIGKILL to its whole process group: the node dies as in a power cut, with no goodbye to its peers or clients. */
  kill(): void {
    const pid = this.process?.pid;
    if (!pid || !this.running) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    this.killedAt ??= Date.now();
  }

  /** Stops it cleanly if it runs, then makes sure nothing of it is left. */
  async stop(): Promise<void> {
    if (this.running) {
      await this.ctl('stop').catch(() => undefined);
      const ended = await Promise.race([this.exited.then(() => true), unrefSleep(30_000).then(() => false)]);
      if (!ended) this.kill();
    }
    // its Erlang helpers (erl_child_setup, inet_gethost) share its process group
    const pid = this.process?.pid;
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // nothing left
      }
    }
    started.delete(this);
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      HOME: this.home, // where the cluster's Erlang cookie is, for the nodes and rabbitmqctl alike
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_PID_FILE: join(d, 'rabbit.pid'),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }
}

/** What the management API says of a quorum queue. */
interface QueueInfo {
  name: string;
  type?: string;
  leader?: string;
  node?: string;
  members?: string[];
  online?: string[];
  messages?: number;
}

/**
 * A RabbitMQ cluster of the suite's own, on this machine: `size` nodes on ports of their own, joined
 * with rabbitmqctl, so that killing one disturbs nobody else using the machine's shared broker.
 */
export class PrivateCluster {
  private constructor(readonly dir: string, readonly nodes: ClusterNode[]) {}

  static async start(dir: string, size = 3): Promise<PrivateCluster> {
    mkdirSync(dir, { recursive: true });
    // one cookie for all: nodes of a cluster (and rabbitmqctl) authenticate each other with it
    writeFileSync(join(dir, '.erlang.cookie'), randomBytes(15).toString('hex').toUpperCase(), { mode: 0o400 });
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < size; i++) {
      const letter = String.fromCharCode(97 + i);
      nodes.push(new ClusterNode(`dxgcluster${process.pid}${letter}@localhost`, join(dir, letter), dir, await freePort(), await freePort(), await freePort()));
    }
    const cluster = new PrivateCluster(dir, nodes);
    try {
      await Promise.all(nodes.map((n) => n.boot()));
      const [first, ...rest] = nodes;
      for (const n of rest) {
        await n.ctl('stop_app');
        await n.ctl('reset');
        await n.ctl('join_cluster', first.name);
        await n.ctl('start_app');
        await n.whenServing();
      }
      await cluster.whenFormed();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** broker.url for the exchange: every node, in order, separated by commas. */
  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  /** The first node's management API (dxg init declares through it). */
  get adminUrl(): string {
    return this.nodes[0].adminUrl;
  }

  alive(): ClusterNode[] {
    return this.nodes.filter((n) => n.running);
  }

  byName(name: string | undefined): ClusterNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** Waits until every node sees every other running. */
  private async whenFormed(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = await this.nodes[0].api<{ name: string; running: boolean }[]>('/api/nodes').catch(() => []);
      if (seen.filter((n) => n.running).length === this.nodes.length) return;
      if (Date.now() > deadline) throw new Error(`the cluster did not form within ${timeoutMs / 1000} s: ${JSON.stringify(seen.map((n) => [n.name, n.running]))}`);
      await sleep(500);
    }
  }

  /** A quorum queue as a running node's management API sees it. */
  async queue(name: string, vhost = '/'): Promise<QueueInfo> {
    let last: unknown;
    for (const n of this.alive()) {
      try {
        return await n.api<QueueInfo>(`/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no running node answers for queue ${name}: ${String(last)}`);
  }

  /** Every queue whose name starts with `prefix`, as a running node's management API lists them. */
  async queues(prefix: string, vhost = '/'): Promise<QueueInfo[]> {
    const all = await this.alive()[0].api<QueueInfo[]>(`/api/queues/${encodeURIComponent(vhost)}`);
    return all.filter((q) => q.name.startsWith(prefix));
  }

  /** The node leading a quorum queue now. */
  async leaderOf(queue: string): Promise<ClusterNode> {
    const info = await this.queue(queue);
    const leader = this.byName(info.leader ?? info.node);
    if (!leader) throw new Error(`queue ${queue} has no leader among the cluster's nodes: ${JSON.stringify(info)}`);
    return leader;
  }

  /** Client connections by node, of users whose names start with `userPrefix` (the exchange's department users). */
  async connectionsByNode(userPrefix: string): Promise<Map<string, number>> {
    const list = await this.alive()[0].api<{ node: string; user: string }[]>('/api/connections');
    const out = new Map<string, number>();
    for (const c of list) if (c.user.startsWith(userPrefix)) out.set(c.node, (out.get(c.node) ?? 0) + 1);
    return out;
  }

  /** Stops every node still running, kills whatever is left of each, and removes the cluster's files (DXG_KEEP=1 keeps them). */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    if (process.env.DXG_KEEP) process.stdout.write(`kept the cluster's files in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
