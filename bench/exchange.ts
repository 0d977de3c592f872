/**
 * A throw-away exchange for the bench: exchange.yaml, flows/ and keys/ in a temp dir, a unique
 * exchange name (so its queues are its own on the shared broker), and `dxg` run as a child process.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeFromBroker } from '../gateway/broker/teardown';
import { loadProject } from '../gateway/config/project';
import { ENT_REGISTRY_FIELDS } from '../gateway/demo/tables';
import { TARGET_FIELDS } from './data';
import type { CostMeter } from './proc';
import { BROKER_URL, type Db } from './services';
import { SOURCE_TABLE, TARGET_TABLE } from './tables';

export const ROOT = resolve(__dirname, '..', '..');

export interface FlowSpec {
  id: string;
  targets: string[];
  schedule?: string;
  pageSize?: number;
  batchSize?: number;
  /** LISTEN/NOTIFY wake-up (default on); off puts no trigger on the source table, which dxg init would otherwise add */
  notify?: boolean;
  /** another resource than the enterprise register's (the population part): its tables and fields */
  shape?: FlowShape;
}

/** What a flow moves: resource, source table and fields, target table and fields. */
export interface FlowShape {
  title: string;
  resource: string;
  table: string;
  key: string;
  watermark: string;
  /** indicator → source column */
  fields: Record<string, string>;
  targetTable: string;
  /** indicator → target column */
  targetFields: Record<string, string>;
}

/** The enterprise register to the bench's enterprise table (every flow but the population part's). */
const ENTERPRISE_SHAPE: FlowShape = {
  title: '企业基础信息（基准测试）', resource: 'enterprise.basic', table: SOURCE_TABLE, key: 'uscc', watermark: 'updated_at',
  fields: ENT_REGISTRY_FIELDS, targetTable: TARGET_TABLE, targetFields: TARGET_FIELDS,
};

const yamlMap = (m: Record<string, string>, indent: string) => Object.entries(m).map(([k, v]) => `${indent}${k}: ${v}`).join('\n');

export interface DxgResult {
  code: number;
  stdout: string;
  stderrTail: string;
  wallSeconds: number;
}

/** One running `dxg` child. */
export interface DxgChild {
  pid: number;
  name: string;
  done: Promise<DxgResult>;
  stop(signal?: NodeJS.Signals): void;
}

export class BenchExchange {
  readonly dir: string;
  private readonly children = new Set<DxgChild>();

  constructor(
    readonly name: string,
    readonly departments: Record<string, { title: string; db: Db }>,
    readonly flows: FlowSpec[],
    readonly source: string,
    private readonly dxgPath: string,
    /** when set, every dxg child runs under node --cpu-prof and writes <name>.cpuprofile here */
    readonly profileDir?: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'dxg-bench-'));
    mkdirSync(join(this.dir, 'flows'));
    mkdirSync(join(this.dir, 'logs'));
    const depts = Object.entries(departments)
      .map(([id, d]) => `  ${id}:\n    name: ${d.title}\n    database: { driver: ${d.db.driver}, url: "${d.db.url}" }`)
      .join('\n');
    writeFileSync(join(this.dir, 'exchange.yaml'),
      `exchange: ${name}\nbroker:\n  url: ${BROKER_URL}\ndepartments:\n${depts}\nflows: flows\nschemas: ${join(ROOT, 'schemas')}\nkeys: keys\n`);
    for (const f of flows) writeFileSync(join(this.dir, 'flows', `${f.id}.yaml`), this.flowYaml(f));
  }

  /**
   * Adds `centre:` to exchange.yaml (call before setUp): `dxg centre` then runs for this exchange,
   * with its own PostgreSQL database and API port. `silentAfter`: the bench's departments run no
   * node and send no heartbeat, so the silent-node alarm is put out of the way.
   */
  addCentre(centre: { db: Db; port: number; silentAfter?: string }): void {
    appendFileSync(this.config, `centre:
  url: http://127.0.0.1:${centre.port}
  listen: 127.0.0.1:${centre.port}
  database: { driver: postgres, url: "${centre.db.url}" }
  alarms: { silent_after: ${centre.silentAfter ?? '1h'}, lag_over: 5m }
`);
  }

  profileFile(name: string): string | null {
    return this.profileDir ? join(this.profileDir, `${name}.cpuprofile`) : null;
  }

  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  get config(): string {
    return join(this.dir, 'exchange.yaml');
  }

  private flowYaml(f: FlowSpec): string {
    const sizes = [f.pageSize ? `  page_size: ${f.pageSize}` : '', f.batchSize ? `  batch_size: ${f.batchSize}` : ''].filter(Boolean).join('\n');
    const shape = f.shape ?? ENTERPRISE_SHAPE;
    return `flow: ${f.id}
title: ${shape.title}
resource: ${shape.resource}
source:
  department: ${this.source}
  table: ${shape.table}
  key: [${shape.key}]
  watermark: ${shape.watermark}
  schedule: "${f.schedule ?? '* * * * * *'}"
  notify: ${f.notify ?? true}
${sizes ? sizes + '\n' : ''}  fields:
${yamlMap(shape.fields, '    ')}
targets:
${f.targets.map((t) => `  - department: ${t}\n    table: ${shape.targetTable}\n    mode: upsert\n    fields:\n${yamlMap(shape.targetFields, '      ')}`).join('\n')}
`;
  }

  /**
   * Starts `dxg --config … args` as a child process (the pid is the gateway's node process itself);
   * its stderr goes to logs/<name>.log, its stdout is collected.
   */
  start(name: string, args: string[], options: { meter?: CostMeter; logLevel?: string; onStderr?: (text: string) => void } = {}): DxgChild {
    const { meter, logLevel = 'warn', onStderr } = options;
    const started = performance.now();
    const profiling = this.profileDir ? ['--cpu-prof', '--cpu-prof-dir', this.profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
    const child = spawn(process.execPath, [...profiling, this.dxgPath, '--config', this.config, ...args], {
      cwd: this.dir,
      env: { ...process.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: process.env.DXG_LOG_LEVEL ?? logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logFile = createWriteStream(this.logFile(name));
    let stdout = '';
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      logFile.write(d);
      onStderr?.(d);
      tail = (tail + d).slice(-4000);
    });
    const handle: DxgChild = {
      pid: child.pid ?? -1,
      name,
      done: new Promise<DxgResult>((resolveDone) => {
        const finish = (code: number) => {
          meter?.sample();
          logFile.end();
          this.children.delete(handle);
          resolveDone({ code, stdout, stderrTail: tail, wallSeconds: (performance.now() - started) / 1000 });
        };
        child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
        child.on('error', (err) => {
          tail += `\n${err.message}`;
          finish(1);
        });
      }),
      stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
    if (child.pid) meter?.watch(child.pid, name);
    this.children.add(handle);
    return handle;
  }

  /**
   * Runs `dxg …` to the end; throws with its output unless it exits 0. `alongside`: nodes it depends
   * on (dxg up elsewhere); if one of them exits first, the run is killed and fails at once instead of
   * waiting for receipts that cannot come.
   */
  async run(name: string, args: string[], meter?: CostMeter, alongside: DxgChild[] = []): Promise<DxgResult> {
    const child = this.start(name, args, { meter });
    const first = await Promise.race([child.done, ...alongside.map((node) => node.done.then((r) => ({ node, r })))]);
    if ('node' in first) {
      child.stop('SIGKILL');
      await child.done;
      throw new Error(`${first.node.name} exited ${first.r.code} during dxg ${args.join(' ')}\n${first.r.stderrTail.slice(-1500)}\n(log: ${this.logFile(first.node.name)})`);
    }
    if (first.code !== 0) throw new Error(`dxg ${args.join(' ')} exited ${first.code}\n${first.stdout}\n${first.stderrTail}\n(log: ${this.logFile(name)})`);
    return first;
  }

  /**
   * Takes another exchange's department keys (call before setUp, which then generates none): an
   * exchange sharing a department database appends to the same ledger, signed by the same key.
   */
  shareKeys(from: BenchExchange): void {
    cpSync(join(from.dir, 'keys'), join(this.dir, 'keys'), { recursive: true });
  }

  async setUp(): Promise<void> {
    await this.run('keys', ['keys', 'generate']);
    await this.run('init', ['init']);
  }

  /** Stops every child still running (SIGTERM, then SIGKILL after `graceMs`). */
  async stopAll(graceMs = 15_000): Promise<void> {
    const running = [...this.children];
    for (const c of running) c.stop('SIGTERM');
    const timer = setTimeout(() => running.forEach((c) => c.stop('SIGKILL')), graceMs);
    await Promise.all(running.map((c) => c.done));
    clearTimeout(timer);
  }

  /** Takes the exchange's queues, exchanges and department users off the broker (before its temp dir goes: it reads the config). */
  async removeTopology(): Promise<void> {
    const { project, problems } = loadProject(this.config);
    if (!project) throw new Error(`cannot read ${this.config} to take its queues off the broker: ${problems.map((p) => p.message).join('; ')}`);
    await removeFromBroker(project.config, project.flows);
  }
}
