/**
 * Reads a V8 .cpuprofile (written by `node --cpu-prof`) and sums self time by function and by area
 * (the gateway's folders, each npm package, node internals, GC, idle), to see where a part's time goes.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** share of the sampled time by area, highest first */
  areas: { area: string; ms: number; percent: number }[];
  /** the functions with the most self time */
  functions: { fn: string; ms: number; percent: number }[];
}

/** Which part of the program a script belongs to: gateway/<folder>, adapters/<engine>, an npm package, node internals. */
function areaOf(url: string, fn: string): string {
  if (!url) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(idle)') return 'idle (waiting for I/O)';
    if (fn === '(program)') return 'V8 (program)';
    if (/^validate\d*$/.test(fn)) return 'ajv generated validators';
    return 'native code (builtins, I/O syscalls)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  const own = /\/dist\/((?:gateway|adapters)\/[^/]+)/.exec(url);
  if (own) return own[1].replace(/\.js$/, '');
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const short = url ? url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '') : '';
    const key = `${functionName || '(anonymous)'}${short ? ` ${short}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(total / 1000),
    areas: rank(areas).slice(0, top).map(([area, us]) => ({ area, ms: Math.round(us / 1000), percent: pct(us) })),
    functions: rank(fns).slice(0, top).map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), percent: pct(us) })),
  };
}
