/** The report of the bulk parts beyond the enterprise sync: ongoing updates, the population register. */
import Table from 'cli-table3';
import type { BaselineResult } from './baselines';
import type { GatewayResult } from './gateway';
import type { Results } from './run';

const n = (v: number | undefined | null, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v) ? '–' : v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const ratio = (a?: { recordsPerSecond: number }, b?: { recordsPerSecond: number }) =>
  a && b ? `${(a.recordsPerSecond / b.recordsPerSecond).toFixed(3)} (1/${(b.recordsPerSecond / a.recordsPerSecond).toFixed(1)})` : '–';

function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

/** Lines appended to the main report (empty when neither part ran). */
export function bulkPartsReport(r: Results): string {
  const rows: (string | number)[][] = [];
  const costs: (string | number)[][] = [];
  const P = r.population;
  const U = r.updates;
  const line = (label: string, x: { records: number; wallSeconds: number; recordsPerSecond: number }, base?: BaselineResult, rss?: number) =>
    rows.push([label, n(x.records), n(x.wallSeconds, 2), n(x.recordsPerSecond), ratio(x, base), rss === undefined ? '' : n(rss, 1)]);
  const cost = (label: string, g: GatewayResult) => costs.push([label, n(g.wallSeconds, 1), n(g.idleRunSeconds, 2), n(g.cost.gatewayCpuSeconds, 1),
    n(g.cost.postgresBackendCpuSeconds, 1), n(g.cost.rabbitmqCpuSeconds, 1), n(g.cost.machineBusyPercent),
    n(((g.cost.gatewayCpuSeconds + g.cost.postgresBackendCpuSeconds) * 1e6) / g.records)]);
  if (P?.copy) line('population: COPY PostgreSQL → PostgreSQL (person.basic)', P.copy);
  if (P?.gateway) {
    line('population: gateway PostgreSQL → PostgreSQL, one process', P.gateway, P.copy, P.gateway.cost.peakRssMiB);
    cost('population gateway', P.gateway);
  }
  if (U) {
    line('updates of existing keys: gateway PostgreSQL → PostgreSQL', U, r.baselineA?.postgres, U.cost.peakRssMiB);
    cost('updates', U);
  }
  if (!rows.length) return '';
  const out = ['', `Population and ongoing changes (${P ? `${n(P.rows)} person.basic records` : ''}${P && U ? '; ' : ''}${U ? `${n(U.changed)} updates of the enterprise records` : ''}; ratio to the COPY of the same rows — for updates, to baseline A)`];
  out.push(table(['part', 'records', 'wall s', 'records/s', '÷ COPY', 'peak RSS MiB'], rows));
  out.push(table(['part', 'wall s', 'idle run s', 'dxg CPU', 'PG backends CPU', 'RabbitMQ CPU', 'machine busy %', 'µs CPU/record (dxg+PG)'], costs));
  return `${out.join('\n')}\n`;
}
