import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../helpers/broker';
import { DXG } from '../helpers/exchange';
import { everySecond, insertItems, itemExchange, validItems, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';
import { parse, value, type Sample } from '../helpers/prometheus';

/**
 * Every `dxg up` node serves /metrics, /health and /ready on its department's listen address
 * (DESIGN §8). Record counts come from the bookkeeping: they equal `dxg status`, also after a restart.
 */
describe('node metrics endpoint', () => {
  let x: ItemExchange;
  const port: Record<'src' | 'full' | 'part', number> = { src: 0, full: 0, part: 0 };
  const url = (d: keyof typeof port, path: string) => `http://127.0.0.1:${port[d]}${path}`;

  beforeAll(async () => {
    for (const d of Object.keys(port) as (keyof typeof port)[]) port[d] = await freePort();
    const listen = { src: `127.0.0.1:${port.src}`, full: `127.0.0.1:${port.full}`, part: `127.0.0.1:${port.part}` };
    // the source on MariaDB, the targets on PostgreSQL: the counts are read from both kinds of bookkeeping
    x = await itemExchange('mt', { source: 'mysql', flow: everySecond, listen });
    await x.ex.setUp();
  });

  afterAll(async () => {
    await x?.destroy();
  });

  it('dxg_records_total equals dxg status, and survives a restart', async () => {
    await insertItems(x.src, validItems(30));
    // codes the indicator set refuses: quarantined at the source
    await insertItems(x.src, validItems(3, 100).map((i, n) => ({ ...i, code: `bad-${n}` })));

    let node = x.ex.up();
    try {
      await waitForReady(['src', 'full', 'part']);
      const health = await fetch(url('src', '/health'));
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'up', department: 'src' });

      const status = await waitFor('every record applied and its receipt back', async () => {
        const rows = await statusRows();
        const done = rows.length === 2 && rows.every((r) => r.extracted === 33 && r.awaitingReceipt === 0 && r.applied + r.rejected === r.published);
        return done && rows;
      }, 90_000);
      expect(status.find((r) => r.target === 'full')).toMatchObject({ published: 30, applied: 30, quarantined: 3 });
      expect(status.find((r) => r.target === 'part')).toMatchObject({ published: 20, filtered: 10, applied: 20 });

      const before = await scrape('src');
      expectCountsOf(before, status);
      expect(value(before, 'dxg_awaiting_receipt_envelopes', { flow: 'items', target: 'full' })).toBe(0);
      expect(value(before, 'dxg_source_rows_behind', { flow: 'items' })).toBe(0);
      expect(value(before, 'dxg_quarantine_items', { flow: 'items', stage: 'source' })).toBe(3);
      expect(value(before, 'dxg_cycle_duration_seconds_count', { flow: 'items' })).toBeGreaterThan(0);
      expect(value(before, 'dxg_errors_total', { flow: 'items', work: 'extract' })).toBe(0);
      expect(value(before, 'dxg_ready', {})).toBe(1);
      expect(before.some((s) => s.name === 'process_cpu_user_seconds_total' && s.labels.department === 'src')).toBe(true);

      // a target's registry holds its own metrics: its applies and queues, not the source's counts
      const full = await scrape('full');
      expect(full.filter((s) => s.name === 'dxg_records_total')).toEqual([]);
      expect(value(full, 'dxg_apply_duration_seconds_count', { flow: 'items' })).toBeGreaterThan(0);
      expect(value(full, 'dxg_queue_messages', { queue: /items/, flow: 'items' })).toBe(0);

      await node.stop();
      await expect(fetch(url('src', '/health'))).rejects.toThrow(); // closed with the drain

      node = x.ex.up();
      await waitForReady(['src', 'full', 'part']);
      const after = await scrape('src');
      expectCountsOf(after, await statusRows());
      expect(counts(after)).toEqual(counts(before));
    } finally {
      await node.stop();
    }
  });

  it('answers /ready with 503 and the reason while a node waits for its database', async () => {
    // a copy of the exchange whose part database cannot be reached: dxg up waits for it
    const config = join(x.ex.dir, 'exchange-part-down.yaml');
    writeFileSync(config, readFileSync(x.ex.config, 'utf8').replace(x.part.url, 'postgres://postgres@127.0.0.1:1/nowhere'));
    const child = spawn(process.execPath, [DXG, '--config', config, 'up'], { env: { ...process.env, DXG_LOG_LEVEL: 'error' }, stdio: 'ignore' });
    const ended = new Promise((resolve) => child.on('exit', resolve));
    try {
      const ready = await waitFor('the endpoint', () => fetch(url('src', '/ready')).catch(() => undefined), 30_000);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ department: 'src', ready: false, state: 'starting', reason: expect.stringMatching(/starting/) });
      expect((await fetch(url('src', '/health'))).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await ended;
    }
  });

  it('refuses to start on a listen address already in use, naming the department and address', async () => {
    const taken = await occupy(port.full);
    try {
      const r = await x.ex.dxg('up');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`dxg: department full: cannot serve /metrics on 127.0.0.1:${port.full}: the address is already in use`);
      expect(r.stderr).toContain('departments.full.listen');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  interface StatusRow {
    flow: string;
    target: string;
    extracted: number;
    replayedAtSource: number;
    quarantined: number;
    filtered: number;
    published: number;
    replayedAtTarget: number;
    applied: number;
    rejected: number;
    awaitingReceipt: number;
  }

  async function statusRows(): Promise<StatusRow[]> {
    return JSON.parse(await x.ex.ok('status', '--format', 'json')) as StatusRow[];
  }

  async function waitForReady(departments: (keyof typeof port)[]): Promise<void> {
    for (const d of departments) {
      await waitFor(`${d} ready`, async () => (await fetch(url(d, '/ready')).catch(() => null))?.status === 200, 60_000);
    }
  }

  async function scrape(d: keyof typeof port): Promise<Sample[]> {
    const res = await fetch(url(d, '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return parse(await res.text());
  }

  function expectCountsOf(samples: Sample[], rows: StatusRow[]): void {
    const outcomes = {
      extracted: 'extracted', replayed_at_source: 'replayedAtSource', quarantined: 'quarantined', filtered: 'filtered',
      published: 'published', replayed_at_target: 'replayedAtTarget', applied: 'applied', rejected: 'rejected',
    } as const;
    for (const row of rows) {
      for (const [outcome, field] of Object.entries(outcomes)) {
        expect([row.target, outcome, value(samples, 'dxg_records_total', { flow: row.flow, target: row.target, outcome, department: 'src' })]).toEqual([row.target, outcome, row[field]]);
      }
    }
  }
});

const counts = (samples: Sample[]) => samples.filter((s) => s.name === 'dxg_records_total').sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
