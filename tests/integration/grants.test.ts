import amqp from 'amqplib';
import { sql } from '../../adapters/sql';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { departmentBrokerUrl, waitFor } from '../helpers/broker';
import type { TestDatabase } from '../helpers/databases';
import { BROKER_URL } from '../helpers/exchange';
import { countRows, governedItemExchange, insertItems, type ItemExchange, validItems } from '../helpers/items';

/**
 * Grants enforced at the broker (DESIGN §9): in an exchange governed by a catalog, a target of a
 * conditional resource receives nothing without an approved grant — not bound, not allowed to read
 * its queue — and once its grant is revoked, what waited for it becomes dead letters, later records
 * are withheld, its data is purged as the grant said, and the counts still reconcile.
 */

describe('grants enforced at the broker', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let base: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    let passwords: Record<string, string>;
    ({ x, centreDb, base, passwords } = await governedItemExchange('gr', ['src', 'full']));
    Object.assign(tokens, passwords);
  });

  afterAll(async () => {
    await x?.destroy();
    await centreDb?.drop();
  });

  it('binds nothing without a grant, binds on approval, and on revocation drains, withholds, purges and still reconciles', async () => {
    const { config } = loadProject(x.ex.config).project!;
    const topology = Topology.of(config);
    const fullQueue = topology.flowQueue('full', 'items');

    // before any grant: init leaves both targets unbound, validate names them at their lines
    const init = await x.ex.ok('init');
    expect(init).toMatch(/not bound \(no grant\): items → full: .*conditional/);
    expect(init).toMatch(/not bound \(no grant\): items → part/);
    expect(await sources(fullQueue)).toEqual([]);
    const invalid = await x.ex.dxg('validate');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/flows\/items\.yaml:\d+:\d+: target full: .*no grant list from the centre/);
    expect(invalid.stderr).toContain('note: the centre is unreachable');
    // said once, not again in every line (found by a tester)
    expect(invalid.stderr.split('the centre is unreachable')).toHaveLength(2);
    expect(invalid.stderr).toMatch(/\[no grant list at hand: see the note above\]/);

    const centre = x.ex.centre();
    const src = x.ex.up('warn', ['src', 'part']);
    let full = x.ex.up('warn', ['full']);
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      for (const name of Object.keys(tokens)) tokens[name] = await login(name, tokens[name]);

      // full's own broker user may not read its queue: refused by the broker, whoever holds the credentials
      await expect(consumeAs(departmentBrokerUrl(x.ex, 'full'), fullQueue)).rejects.toThrow(/ACCESS_REFUSED/);

      // records extracted meanwhile are withheld from both targets, and say so
      await insertItems(x.src, validItems(20));
      await waitFor('the 20 records withheld from each target (or filtered)', async () => {
        const rows = await status();
        // part's where lets through statuses 1 and 2 only: the rest are filtered, as without grants
        return rows.every((r) => r.withheld + r.filtered === 20 && r.withheld > 0 && r.reconciled === 'yes');
      }, 60_000);
      expect(await countRows(x.full, 't_full')).toBe(0);

      // full applies; only src's approver may answer; approval binds at once
      const env = (name: string) => ({ DXG_CENTRE_TOKEN: tokens[name] });
      const applied = await dxgWith(env('op'), 'apply', '--resource', 'test.item', '--department', 'full', '--items', 'code,title,amount,qty,born,active,status,updated_at',
        '--purpose', '测试', '--basis', '测试依据', '--on-end', 'purge');
      const id = /^(A\d+) submitted/m.exec(applied.stdout)?.[1];
      expect(id).toBeDefined();
      const wrongApprover = await dxgWith(env('appr-full'), 'approve', id!);
      expect(wrongApprover.code).toBe(1);
      expect(wrongApprover.stderr).toContain('only an approver of src');
      const approved = await dxgWith(env('appr-src'), 'approve', id!);
      expect(approved.stdout).toContain(`${id} approved by appr-src`);
      expect(approved.stdout).toContain('broker: bound items → full');
      expect(await sources(fullQueue)).toEqual([topology.recordsExchange('src')]);
      const valid = await x.ex.dxg('validate');
      expect(valid.stderr).not.toMatch(/target full/);
      expect(valid.stderr).toMatch(/target part: part has no approved grant/);

      // a rejection needs a reason and is kept
      const second = await dxgWith(env('op'), 'apply', '--resource', 'test.item', '--department', 'part', '--items', 'code,title,status', '--purpose', '测试', '--basis', '无');
      const partId = /^(A\d+) submitted/m.exec(second.stdout)![1];
      expect((await dxgWith(env('appr-src'), 'reject', partId)).stderr).toMatch(/required option '--reason/);
      expect((await dxgWith(env('appr-src'), 'reject', partId, '--reason', '依据不足')).stdout).toContain(`${partId} rejected by appr-src: 依据不足`);
      const list = JSON.parse((await dxgWith(env('op'), 'applications', '--format', 'json')).stdout) as { id: string; state: string }[];
      expect(list.map((a) => [a.id, a.state])).toEqual([[partId, 'rejected'], [id, 'approved']]);

      // the 20 withheld before reach full now (the source resyncs it), and records from now on, under the grant, named in envelopes and ledger
      await waitFor('the 20 withheld records at full', async () => (await countRows(x.full, 't_full')) === 20, 60_000);
      await insertItems(x.src, validItems(10, 100));
      await waitFor('30 records at full', async () => (await countRows(x.full, 't_full')) === 30, 60_000);
      expect(await countRows(x.part, 't_part')).toBe(0);
      const trail = JSON.parse(await x.ex.ok('audit', '--key', 'AB0100', '--format', 'json')) as { ledger: string; kind: string; detail: { grant?: string } | null }[];
      expect(trail.filter((e) => e.kind === 'apply').map((e) => [e.ledger, e.detail?.grant])).toEqual([['full', id]]);
      expect(trail.filter((e) => e.kind === 'publish' && e.detail?.grant === id)).toHaveLength(1);

      // full's node stops; what is sent meanwhile waits in its queue
      await full.stop();
      await insertItems(x.src, validItems(15, 200));
      await waitFor('15 records queued for full', async () => (await queueDepth(fullQueue)) > 0 && (await status()).find((r) => r.target === 'full')!.published === 45, 60_000);
      // a stand-in consumer of full, connected under the grant: the revocation closes its connection
      const standIn = await amqp.connect(departmentBrokerUrl(x.ex, 'full'), { clientProperties: { connection_name: 'stand-in of full' } });
      const closed = new Promise<void>((r) => standIn.on('close', () => r()));
      standIn.on('error', () => undefined);
      // the management API lists a connection once its statistics are in (every 5 s): a node's is long listed
      await waitFor('the stand-in listed by the broker', async () => (await connections()).includes('stand-in of full'), 30_000);
      const revoked = await dxgWith(env('appr-src'), 'revoke', id!, '--reason', '测试结束');
      expect(revoked.stdout).toMatch(/broker: unbound items → full; its connections closed; \d+ queued message\(s\) taken back unread, counted as rejected \(grant revoked\)/);
      await waitFor('the stand-in closed by the broker', () => Promise.race([closed.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]), 60_000);
      expect(await sources(fullQueue)).toEqual([]);
      expect(await queueDepth(fullQueue)).toBe(0);
      // taken back, not dead-lettered: nothing of it is where full's user may read
      expect(await queueDepth(topology.deadQueue('full'))).toBe(0);
      await expect(consumeAs(departmentBrokerUrl(x.ex, 'full'), fullQueue)).rejects.toThrow(/ACCESS_REFUSED/);

      // later records are withheld; full's node, back, refuses what was queued and purges what it held
      await insertItems(x.src, validItems(5, 300));
      full = x.ex.up('warn', ['full']);
      const settled = await waitFor('the counts of full settled', async () => {
        const row = (await status()).find((r) => r.target === 'full')!;
        return row.reconciled === 'yes' && row.withheld === 25 && row.rejected === 15 && row;
      }, 90_000);
      // extracted: 20 + their resync 20 + 10 + 15 + 5; published: 20 + 10 + 15
      expect(settled).toMatchObject({ extracted: 70, published: 45, applied: 30, rejected: 15, withheld: 25 });
      await waitFor('t_full purged', async () => (await countRows(x.full, 't_full')) === 0, 30_000);
      const ends = await x.full.query<{ record_count: number; detail: string }>(sql`SELECT record_count, detail FROM dxg_ledger WHERE kind = 'grant-end'`);
      expect(ends.map((e) => [Number(e.record_count), JSON.parse(e.detail).grant, JSON.parse(e.detail).onEnd])).toEqual([[30, id, 'purge']]);
      // full counted them as rejected, by their claims alone: not one of their records is kept there
      const rejects = await x.full.query<{ n: string }>(sql`SELECT sum(record_count) AS n FROM dxg_ledger WHERE kind = 'reject' AND detail LIKE '%grant revoked%'`);
      expect(Number(rejects[0].n)).toBe(15);
      expect((await x.full.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_quarantine`))[0].n).toBe('0');
      // a grant for a number of days expires on its own, carried out as a revocation
      const timed = await dxgWith(env('op'), 'apply', '--resource', 'test.item', '--department', 'part', '--items', 'code,title,status', '--purpose', '测试', '--basis', '测试依据', '--days', '1');
      const timedId = /^(A\d+) submitted/m.exec(timed.stdout)![1];
      expect((await dxgWith(env('appr-src'), 'approve', timedId)).stdout).toContain('broker: bound items → part');
      expect(await sources(topology.flowQueue('part', 'items'))).toEqual([topology.recordsExchange('src')]);
      await centreDb.execute(sql`UPDATE centre_applications SET valid_until = now() - interval '1 second' WHERE id = ${timedId}`);
      await waitFor('the grant expired and part unbound', async () => (await sources(topology.flowQueue('part', 'items'))).length === 0, 30_000);
      const expired = JSON.parse((await dxgWith(env('op'), 'applications', '--state', 'expired', '--format', 'json')).stdout) as { id: string; endedBy: string }[];
      expect(expired.map((a) => [a.id, a.endedBy])).toEqual([[timedId, 'centre']]);
      // the journal has every decision with who and why
      const journal = await api<{ actor: string; action: string; subject: string; reason: string | null }[]>('/api/journal', tokens.op);
      expect(journal.map((j) => `${j.actor} ${j.action}`)).toEqual(expect.arrayContaining(['appr-src application approved', 'appr-src application rejected', 'appr-src grant revoked', 'op application submitted', 'centre grant expired']));
    } finally {
      await Promise.all([src.stop(), full.stop(), centre.stop()]);
    }
  }, 300_000);

  async function status(): Promise<{ target: string; extracted: number; published: number; applied: number; rejected: number; withheld: number; filtered: number; reconciled: string }[]> {
    return JSON.parse(await x.ex.ok('status', '--format', 'json'));
  }

  async function login(name: string, password: string): Promise<string> {
    const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
    return ((await r.json()) as { token: string }).token;
  }

  async function api<T>(path: string, token: string): Promise<T> {
    return (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<T>;
  }

  function dxgWith(env: Record<string, string>, ...args: string[]) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return x.ex.dxg(...args);
    } finally {
      process.env = saved;
    }
  }
});

/** The exchanges a queue is bound to, as the broker's management API lists them. */
async function sources(queue: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:15672/api/queues/%2F/${encodeURIComponent(queue)}/bindings`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const bindings = (await res.json()) as { source: string }[];
  return bindings.map((b) => b.source).filter((s) => s !== '');
}

/** The names of the broker's client connections. */
async function connections(): Promise<string[]> {
  const res = await fetch('http://127.0.0.1:15672/api/connections?columns=client_properties', { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  return ((await res.json()) as { client_properties: { connection_name?: string } }[]).map((c) => c.client_properties.connection_name ?? '');
}

async function queueDepth(queue: string): Promise<number> {
  const conn = await amqp.connect(BROKER_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await conn.close();
  }
}

/** Tries to consume the queue with the given credentials (a department's node would). */
async function consumeAs(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.consume(queue, () => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
