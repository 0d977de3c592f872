import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { removeFromBroker } from '../../gateway/broker/teardown';
import { loadProject } from '../../gateway/config/project';

const run = promisify(execFile);

export const ROOT = resolve(__dirname, '..', '..');
export const DXG = join(ROOT, 'bin', 'dxg');
export const BROKER_URL = process.env.DXG_TEST_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface Department {
  driver: string;
  url: string;
  /** where its node serves /metrics, /health and /ready; default any free port, so that test runs never contend for 7401… */
  listen?: string;
}

/** A dxg command running in the background. */
export interface Background {
  child: ChildProcess;
  /** SIGTERM, and wait for it to end */
  stop(): Promise<void>;
}

/**
 * A throw-away exchange on disk: exchange.yaml, flows/, keys/ (and schemas/ when given; otherwise the
 * product's own indicator sets). The exchange name is unique, so its broker queues are its own.
 */
export class TestExchange {
  readonly dir: string;
  readonly name: string;

  constructor(departments: Record<string, Department>, flows: Record<string, string>, schemas?: Record<string, object>, options: { brokerUrl?: string; brokerAdmin?: string } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'dxg-test-'));
    this.name = `t${process.pid}x${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    mkdirSync(join(this.dir, 'flows'));
    const schemasDir = schemas ? join(this.dir, 'schemas') : join(ROOT, 'schemas');
    if (schemas) {
      mkdirSync(schemasDir);
      for (const [name, s] of Object.entries(schemas)) writeFileSync(join(schemasDir, `${name}.json`), JSON.stringify(s, null, 2));
    }
    const depts = Object.entries(departments)
      .map(([id, d]) => `  ${id}:\n    listen: "${d.listen ?? '127.0.0.1:0'}"\n    database: { driver: ${d.driver}, url: "${d.url}" }`)
      .join('\n');
    writeFileSync(join(this.dir, 'exchange.yaml'),
      `exchange: ${this.name}\nbroker:\n  url: ${options.brokerUrl ?? BROKER_URL}\n${options.brokerAdmin ? `  admin: ${options.brokerAdmin}\n` : ''}departments:\n${depts}\nflows: flows\nschemas: ${schemasDir}\nkeys: keys\n`);
    for (const [name, text] of Object.entries(flows)) writeFileSync(join(this.dir, 'flows', `${name}.yaml`), text);
  }

  get config(): string {
    return join(this.dir, 'exchange.yaml');
  }

  /** Runs `dxg --config <this> ...args`; resolves with its output and exit code (never rejects on exit code). */
  async dxg(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [DXG, '--config', this.config, ...args], {
        cwd: this.dir,
        env: { ...process.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: process.env.DXG_LOG_LEVEL ?? 'warn' },
        maxBuffer: 64 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** `dxg ...` that must succeed; the failure message carries its output. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.dxg(...args);
    if (r.code !== 0) throw new Error(`dxg ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Takes the exchange's queues, exchanges and department users off the broker. */
  async destroy(): Promise<void> {
    const { project } = loadProject(this.config);
    if (project) await removeFromBroker(project.config, project.flows);
  }

  /** Adds a `broker:` setting to exchange.yaml (before `setUp`). */
  setBroker(name: string, value: string | number): void {
    writeFileSync(this.config, readFileSync(this.config, 'utf8').replace(/(  url: amqp[^\n]*\n)/, `$1  ${name}: ${value}\n`));
  }

  /** `dxg up` (every department in one process, or only these) in the background; `stop` sends SIGTERM and waits for it to end. */
  up(logLevel = 'warn', departments: string[] = []): Background {
    return this.background(['up', ...(departments.length ? ['--department', ...departments] : [])], logLevel);
  }

  /** Governs the exchange by a resource catalog (before `setUp`): `catalog/<name>.yaml` for each entry given. */
  addCatalog(entries: Record<string, string>): void {
    mkdirSync(join(this.dir, 'catalog'), { recursive: true });
    for (const [name, text] of Object.entries(entries)) writeFileSync(join(this.dir, 'catalog', `${name}.yaml`), text);
    writeFileSync(this.config, `${readFileSync(this.config, 'utf8')}catalog: catalog\n`);
  }

  /**
   * Adds a `centre:` to exchange.yaml (before `setUp`), with intervals short enough for a test:
   * heartbeats every second, a node silent after 3 s.
   */
  addCentre(centre: { databaseUrl: string; port: number; webhook?: string; webhookRetry?: string; silentAfter?: string; lagOver?: string; archiveAfter?: string; tls?: { cert: string; key: string }; approval?: string }): void {
    writeFileSync(this.config, `${readFileSync(this.config, 'utf8')}centre:
  url: ${centre.tls ? 'https' : 'http'}://127.0.0.1:${centre.port}
  listen: 127.0.0.1:${centre.port}
  database: { driver: postgres, url: "${centre.databaseUrl}" }
  heartbeat: 1s
  alarms: { silent_after: ${centre.silentAfter ?? '3s'}, lag_over: ${centre.lagOver ?? '5m'}${centre.webhook ? `, webhook: "${centre.webhook}"` : ''}${centre.webhookRetry ? `, webhook_retry: ${centre.webhookRetry}` : ''} }
${centre.approval ? `  approval: ${centre.approval}\n` : ''}${centre.archiveAfter ? `  archive: { after: ${centre.archiveAfter}, dir: archive }\n` : ''}${centre.tls ? `  tls: { cert: "${centre.tls.cert}", key: "${centre.tls.key}" }\n` : ''}`);
  }

  /** `dxg centre` in the background; `stop` sends SIGTERM and waits for it to end. */
  centre(logLevel = 'warn'): Background {
    return this.background(['centre'], logLevel);
  }

  private background(args: string[], logLevel: string): Background {
    const child = spawn(process.execPath, [DXG, '--config', this.config, ...args], { env: { ...process.env, DXG_LOG_LEVEL: logLevel }, stdio: 'ignore' });
    const ended = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    return {
      child,
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await ended;
      },
    };
  }

  /** keys generate + init */
  async setUp(): Promise<void> {
    await this.ok('keys', 'generate');
    await this.ok('init');
  }
}
