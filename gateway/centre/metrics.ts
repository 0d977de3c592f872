import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Monitor } from './monitor';

/**
 * The centre's Prometheus metrics (docs/metrics.md): record counts per flow, target and outcome as
 * the sources' heartbeats report them (equal to dxg status), lag, entries collected, open alarms.
 */
export class CentreMetrics {
  readonly registry = new Registry();

  constructor(db: Database, monitor: Monitor) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const OUTCOMES = ['extracted', 'quarantined', 'filtered', 'withheld', 'published', 'applied', 'rejected'] as const;
    new Counter({
      name: 'dxg_records_total', help: 'Records of every flow, per target and outcome, as each source last reported them (as dxg status)', labelNames: ['flow', 'target', 'outcome'], registers,
      async collect() {
        this.reset();
        for (const t of await monitor.targets()) if (t.counts) for (const o of OUTCOMES) this.inc({ flow: t.flow, target: t.target, outcome: o }, t.counts[o] ?? 0);
      },
    });
    new Gauge({
      name: 'dxg_lag_seconds', help: 'Lag from an envelope\'s commit at the source to its apply at the target, last 15 minutes', labelNames: ['flow', 'target', 'quantile'], registers,
      async collect() {
        this.reset();
        for (const t of await monitor.targets()) {
          if (!t.lag) continue;
          this.set({ flow: t.flow, target: t.target, quantile: '0.5' }, t.lag.p50);
          this.set({ flow: t.flow, target: t.target, quantile: '0.95' }, t.lag.p95);
        }
      },
    });
    new Gauge({
      name: 'dxg_centre_ledger_entries', help: "Entries of each department's ledger the centre holds, complete and checked", labelNames: ['department'], registers,
      async collect() {
        this.reset();
        for (const r of await db.query<{ department: string; contiguous: string }>(sql`SELECT department, contiguous FROM centre_departments`)) this.set({ department: r.department }, Number(r.contiguous));
      },
    });
    new Gauge({
      name: 'dxg_centre_heartbeat_age_seconds', help: "Seconds since each department node's last heartbeat", labelNames: ['department'], registers,
      async collect() {
        this.reset();
        for (const r of await db.query<{ department: string; age: number | null }>(sql`SELECT department, extract(epoch FROM now() - heartbeat_at)::float8 AS age FROM centre_departments WHERE heartbeat_at IS NOT NULL`)) {
          this.set({ department: r.department }, Number(r.age));
        }
      },
    });
    new Gauge({
      name: 'dxg_centre_alarms_open', help: 'Open alarms by kind', labelNames: ['kind'], registers,
      async collect() {
        this.reset();
        for (const r of await db.query<{ kind: string; n: string }>(sql`SELECT kind, count(*) AS n FROM centre_alarms WHERE cleared_at IS NULL GROUP BY kind`)) this.set({ kind: r.kind }, Number(r.n));
      },
    });
  }
}
