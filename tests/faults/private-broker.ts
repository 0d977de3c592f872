import amqp from 'amqplib';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { freePort } from '../helpers/ports';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../gateway/time';

const run = promisify(execFile);

/** Where the RabbitMQ scripts are (Debian's /usr/sbin ones are wrappers that switch to the rabbitmq user). */
export function rabbitBin(): string {
  const dirs = [process.env.DXG_FAULTS_RABBITMQ_BIN, '/usr/lib/rabbitmq/bin', '/usr/local/sbin', '/usr/sbin', '/opt/rabbitmq/sbin'].filter(Boolean) as string[];
  const dir = dirs.find((d) => existsSync(join(d, 'rabbitmq-server')) && existsSync(join(d, 'rabbitmqctl')));
  if (!dir) throw new Error(`rabbitmq-server not found (looked in ${dirs.join(', ')}; set DXG_FAULTS_RABBITMQ_BIN)`);
  return dir;
}

export { freePort };

/** A timer that does not keep the process alive (for races against an exit). */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * A RabbitMQ node of the suite's own (its own name, ports, data and configuration under a temp dir),
 * so that restarting it disturbs nobody else using the machine's shared broker.
 */
export class PrivateBroker {
  private process: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly nodeName: string;
  restarts = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly distPort: number,
    readonly managementPort: number,
    /** the amqps:// listener, when the node was started with a certificate */
    readonly tlsPort?: number,
    /** the management API over https, when the node was started with a certificate */
    readonly managementTlsPort?: number,
  ) {
    this.nodeName = `dxgfaults${process.pid}@localhost`;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Its management API, through which dxg init creates the department users (broker.admin). */
  get adminUrl(): string {
    return `http://guest:guest@127.0.0.1:${this.managementPort}`;
  }

  /** The same API over https (a node started with a certificate). */
  get adminTlsUrl(): string {
    return `https://guest:guest@127.0.0.1:${this.managementTlsPort}`;
  }

  /** `tls`: PEM files of the node's certificate, its key and the authority that signed it: an amqps:// listener too. */
  static async start(dir: string, tls?: { cert: string; key: string; ca: string }): Promise<PrivateBroker> {
    mkdirSync(dir, { recursive: true });
    const broker = new PrivateBroker(dir, await freePort(), await freePort(), await freePort(), tls ? await freePort() : undefined, tls ? await freePort() : undefined);
    writeFileSync(join(dir, 'rabbitmq.conf'), [
      `listeners.tcp.1 = 127.0.0.1:${broker.port}`,
      ...(tls ? [`listeners.ssl.1 = 127.0.0.1:${broker.tlsPort}`, `ssl_options.cacertfile = ${tls.ca}`, `ssl_options.certfile = ${tls.cert}`,
        `ssl_options.keyfile = ${tls.key}`, 'ssl_options.verify = verify_none', 'ssl_options.fail_if_no_peer_cert = false',
        'management.ssl.ip = 127.0.0.1', `management.ssl.port = ${broker.managementTlsPort}`, `management.ssl.cacertfile = ${tls.ca}`,
        `management.ssl.certfile = ${tls.cert}`, `management.ssl.keyfile = ${tls.key}`] : []),
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${broker.managementPort}`,
      'log.console = false',
      'log.file.level = warning',
      'vm_memory_high_watermark.relative = 0.3',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_management].\n');
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '# the suite\'s own node: nothing from /etc/rabbitmq\n');
    await broker.boot();
    return broker;
  }

  private env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      HOME: d, // the Erlang cookie lives here, shared by the node and rabbitmqctl
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.nodeName,
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

  /** Starts the node and waits until it takes AMQP connections and its management API answers. */
  private async boot(): Promise<void> {
    const out = openSync(join(this.dir, 'server.out'), 'a');
    const child = spawn(join(rabbitBin(), 'rabbitmq-server'), [], { env: this.env(), cwd: this.dir, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`private RabbitMQ exited at start (see ${join(this.dir, 'server.out')} and ${join(this.dir, 'log')})`);
      try {
        const conn = await amqp.connect(this.url);
        await conn.close();
        const api = await fetch(`http://127.0.0.1:${this.managementPort}/api/overview`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
        if (!api.ok) throw new Error(`management API answers ${api.status}`);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`private RabbitMQ did not accept connections within 90 s (see ${this.dir})`);
        await sleep(250);
      }
    }
  }

  private async ctl(...args: string[]): Promise<void> {
    await run(join(rabbitBin(), 'rabbitmqctl'), ['-n', this.nodeName, ...args], { env: this.env(), cwd: this.dir, timeout: 60_000 });
  }

  /** Stops the node cleanly (rabbitmqctl stop) and waits for its process to end. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    try {
      await this.ctl('stop');
    } catch {
      // falls through to the kill below
    }
    const ended = await Promise.race([this.exited.then(() => true), unrefSleep(30_000).then(() => false)]);
    if (!ended) this.kill();
    this.process = null;
  }

  async start(): Promise<void> {
    if (this.process && this.process.exitCode === null) return;
    await this.boot();
  }

  /** A restart with the node down for `downMs`: clients see their connections drop and must come back. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await sleep(downMs);
    await this.start();
    this.restarts++;
  }

  /** Kills the node's whole process group (the last resort of clean-up). */
  kill(): void {
    const pid = this.process?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
