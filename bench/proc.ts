/**
 * What processes cost, read from /proc: peak resident memory (VmHWM) and CPU time of the gateway's
 * processes (a child and all its descendants), CPU time of the database backends serving the bench's
 * databases, and how busy the whole machine was meanwhile.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sql, type SqlExecutor } from '../adapters';

const TICK = 100; // USER_HZ: clock ticks per second in /proc/<pid>/stat on Linux

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** kB of VmHWM / VmRSS from /proc/<pid>/status, or null once the process is gone. */
export function memoryOf(pid: number): { hwmKiB: number; rssKiB: number } | null {
  const s = read(`/proc/${pid}/status`);
  if (!s) return null;
  const hwm = /VmHWM:\s+(\d+)/.exec(s);
  const rss = /VmRSS:\s+(\d+)/.exec(s);
  return hwm && rss ? { hwmKiB: Number(hwm[1]), rssKiB: Number(rss[1]) } : null;
}

/** CPU seconds (user + system) a process has used so far, or null once it is gone. */
export function cpuOf(pid: number): number | null {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return null;
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime (fields 14, 15)
}

function commOf(pid: number): string {
  return (read(`/proc/${pid}/comm`) ?? '').trim();
}

/** The pid and every descendant still alive. */
export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      const kids = read(`/proc/${out[i]}/task/${t}/children`);
      if (kids) for (const k of kids.trim().split(/\s+/).filter(Boolean)) out.push(Number(k));
    }
  }
  return out;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const line = (read('/proc/stat') ?? '').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busy: total - idle, total };
}

/** Pids of the running processes named `comm` (e.g. mariadbd, beam.smp). */
export function pidsNamed(...names: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (names.includes(commOf(Number(d)))) out.push(Number(d));
  }
  return out;
}

export interface ProcessPeak {
  pid: number;
  label: string;
  peakRssMiB: number;
  cpuSeconds: number;
}

export interface CostReport {
  /** gateway processes: peak RSS (VmHWM) and CPU each */
  processes: ProcessPeak[];
  /** sum of the peaks of all gateway processes (an upper bound of their simultaneous use) */
  peakRssMiB: number;
  gatewayCpuSeconds: number;
  /** CPU of the PostgreSQL backends connected to the bench's databases (gateway and bench connections) */
  postgresBackendCpuSeconds: number;
  /** CPU of the whole mariadbd and RabbitMQ (beam.smp) processes: other users of the shared servers included */
  mariadbCpuSeconds: number;
  rabbitmqCpuSeconds: number;
  /** how busy all cores of the machine were, 0–100 (everybody's work) */
  machineBusyPercent: number;
  wallSeconds: number;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/**
 * Samples while a part runs: the watched processes (children of the bench, by pid) and their
 * descendants every `intervalMs`, and the PostgreSQL client backends of the given databases as often
 * (found in pg_stat_activity, so a short-lived connection is not missed; their CPU read from /proc).
 * Only `backend_type = 'client backend'`: autovacuum workers (and other background workers) also show
 * a database name, but their work is the server's housekeeping, not the part's.
 */
export class CostMeter {
  private readonly peaks = new Map<number, { label: string; hwmKiB: number; cpu: number }>();
  private readonly backends = new Map<number, { first: number; last: number }>();
  private readonly roots: { pid: number; label: string }[] = [];
  /** CPU seconds processes had used before they were watched (not counted) */
  private readonly cpuBefore = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private pgTimer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  private readonly machine0 = machineTicks();
  private readonly servers0: Map<number, number>;
  private readonly serverPids: { mariadb: number[]; rabbitmq: number[] };

  constructor(private readonly pg: SqlExecutor | null, private readonly databases: string[], intervalMs = 100) {
    this.serverPids = { mariadb: pidsNamed('mariadbd', 'mysqld'), rabbitmq: pidsNamed('beam.smp') };
    this.servers0 = new Map([...this.serverPids.mariadb, ...this.serverPids.rabbitmq].map((p) => [p, cpuOf(p) ?? 0]));
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    if (pg && databases.length) {
      this.pgTimer = setInterval(() => void this.sampleBackends(), intervalMs);
      this.pgTimer.unref();
      this.initial = this.sampleBackends(true);
    }
  }

  /**
   * Watches a process and its descendants. `cpuFromNow` for one already running (a node started
   * before the part): its CPU counts from here, its peak RSS (VmHWM) is its peak since it started.
   */
  watch(pid: number, label: string, cpuFromNow = false): void {
    this.roots.push({ pid, label });
    if (cpuFromNow) for (const p of descendants(pid)) this.cpuBefore.set(p, cpuOf(p) ?? 0);
    this.sample();
  }

  /** Samples now (call right before a watched process is expected to exit, and after it did). */
  sample(): void {
    for (const root of this.roots) {
      for (const pid of descendants(root.pid)) {
        const m = memoryOf(pid);
        const cpu = cpuOf(pid);
        if (!m || cpu === null) continue;
        const p = this.peaks.get(pid) ?? { label: pid === root.pid ? root.label : `${root.label}/${commOf(pid)}`, hwmKiB: 0, cpu: 0 };
        p.hwmKiB = Math.max(p.hwmKiB, m.hwmKiB);
        p.cpu = Math.max(p.cpu, cpu - (this.cpuBefore.get(pid) ?? 0));
        this.peaks.set(pid, p);
      }
    }
    for (const [pid, b] of this.backends) {
      const cpu = cpuOf(pid);
      if (cpu !== null) b.last = cpu;
    }
  }

  private initial: Promise<void> = Promise.resolve();

  /** Resolves once the backends already connected at the start are known (their earlier CPU is not counted). */
  ready(): Promise<void> {
    return this.initial;
  }

  private sampling = false;

  private async sampleBackends(initial = false): Promise<void> {
    if (this.sampling && !initial) return;
    this.sampling = true;
    try {
      const rows = await this.pg!.query<{ pid: number }>(
        sql`SELECT pid FROM pg_stat_activity WHERE datname = ANY(${this.databases}) AND backend_type = 'client backend' AND pid <> pg_backend_pid()`);
      for (const { pid } of rows) {
        if (this.backends.has(pid)) continue;
        const cpu = cpuOf(pid);
        // backends connected before the part started count from then; later ones from their birth
        if (cpu !== null) this.backends.set(pid, { first: initial ? cpu : 0, last: cpu });
      }
    } catch {
      /* sampling is best effort */
    } finally {
      this.sampling = false;
    }
  }

  stop(): CostReport {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    if (this.pgTimer) clearInterval(this.pgTimer);
    const m1 = machineTicks();
    const serverDelta = (pids: number[]) => pids.reduce((a, p) => a + Math.max(0, (cpuOf(p) ?? 0) - (this.servers0.get(p) ?? 0)), 0);
    const processes = [...this.peaks].map(([pid, p]) => ({ pid, label: p.label, peakRssMiB: mib(p.hwmKiB), cpuSeconds: Math.round(p.cpu * 100) / 100 }));
    return {
      processes,
      peakRssMiB: Math.round(processes.reduce((a, p) => a + p.peakRssMiB, 0) * 10) / 10,
      gatewayCpuSeconds: Math.round(processes.reduce((a, p) => a + p.cpuSeconds, 0) * 100) / 100,
      postgresBackendCpuSeconds: Math.round([...this.backends.values()].reduce((a, b) => a + b.last - b.first, 0) * 100) / 100,
      mariadbCpuSeconds: Math.round(serverDelta(this.serverPids.mariadb) * 100) / 100,
      rabbitmqCpuSeconds: Math.round(serverDelta(this.serverPids.rabbitmq) * 100) / 100,
      machineBusyPercent: m1.total > this.machine0.total ? Math.round(((m1.busy - this.machine0.busy) / (m1.total - this.machine0.total)) * 1000) / 10 : 0,
      wallSeconds: (Date.now() - this.started) / 1000,
    };
  }
}
