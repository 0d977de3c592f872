import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { sleep } from '../../gateway/time';
import type { GatewayCopy } from './gateway-copy';

/** A timer that does not keep the process alive (for races against an exit). */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * One `dxg up --department …` process, run the way an operator runs it, so that it can be killed
 * (SIGKILL: no drain, no clean-up) and started again. Its log (JSON lines) goes to `logFile`.
 */
export class NodeProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<void> = Promise.resolve();
  private expectingExit = false;
  private up = false;
  starts = 0;
  kills = 0;
  /** exits nobody asked for: a node must survive every fault the suite injects */
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly label: string,
    private readonly config: string,
    private readonly departments: string[],
    readonly logFile: string,
    private readonly cwd: string,
    private readonly gateway: GatewayCopy,
  ) {}

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the node; resolves once it logs "nodes up" (it has recovered its outbox and subscribed). */
  async start(timeoutMs = 60_000): Promise<void> {
    this.launch();
    await this.ready(timeoutMs);
  }

  /** Starts the process without waiting for it to come up. */
  launch(): void {
    if (this.running) throw new Error(`${this.label} is already running`);
    this.starts++;
    appendFileSync(this.logFile, `\n===== ${new Date().toISOString()} start #${this.starts} of ${this.label} =====\n`);
    const args = [this.gateway.dxg, '--config', this.config, 'up', ...this.departments.flatMap((d) => ['--department', d])];
    const child = spawn(process.execPath, args, {
      cwd: this.cwd,
      env: { ...this.gateway.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: process.env.DXG_FAULTS_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    this.up = false;
    let pending = '';
    const onData = (chunk: Buffer) => {
      appendFileSync(this.logFile, chunk);
      if (!this.up && this.child === child) {
        pending = (pending + chunk.toString()).slice(-4096);
        if (pending.includes('"message":"nodes up"')) this.up = true;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        appendFileSync(this.logFile, `===== exited: code ${code} signal ${signal} =====\n`);
        if (!this.expectingExit) this.unexpectedExits.push(`${this.label} exited by itself (code ${code}, signal ${signal}) at ${new Date().toISOString()}`);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
  }

  /** Waits until the process started last logs "nodes up". */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.up) {
      if (!this.running) throw new Error(`${this.label} exited while starting:\n${this.tail(30)}`);
      if (Date.now() > deadline) throw new Error(`${this.label} did not come up within ${timeoutMs / 1000} s:\n${this.tail(30)}`);
      await sleep(50);
    }
  }

  /** SIGKILL: the process dies wherever it is, with no chance to finish anything. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    this.kills++;
    this.child!.kill('SIGKILL');
    await this.exit;
  }

  /** SIGTERM (drain), then SIGKILL if it takes too long. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    this.child!.kill('SIGTERM');
    const done = await Promise.race([this.exit.then(() => true), unrefSleep(timeoutMs).then(() => false)]);
    if (!done && this.running) {
      this.child!.kill('SIGKILL');
      await this.exit;
    }
  }

  /** The last lines of the log (all starts). */
  tail(lines = 40): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Log lines at level warn or error, with their messages counted. */
  problems(): Map<string, number> {
    const counts = new Map<string, number>();
    if (!existsSync(this.logFile)) return counts;
    for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: string; message?: string };
        if (entry.level === 'warn' || entry.level === 'error') counts.set(`${entry.level}: ${entry.message}`, (counts.get(`${entry.level}: ${entry.message}`) ?? 0) + 1);
      } catch {
        // a line cut by SIGKILL
      }
    }
    return counts;
  }
}
