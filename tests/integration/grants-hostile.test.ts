import amqp from 'amqplib';
import { sql } from '../../adapters/sql';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { bodyRecords, departmentBrokerUrl, waitFor } from '../helpers/broker';
import type { TestDatabase } from '../helpers/databases';
import { countRows, governedItemExchange, insertItems, type ItemExchange, validItems } from '../helpers/items';

/**
 * Found by an independent tester acting as a hostile department, on an earlier build; each case is
 * what docs/catalog.md leads one to expect, and each failed then:
 *  1. records withheld before a grant are delivered once it is approved (the source resyncs the target);
 *  2. on revocation, what waited in the target's queue is taken back unread: not dead-lettered into a
 *     queue the revoked department may read, and not stored whole in its database;
 *  3. an approver reads no records through the centre's /api/quarantine (auditors and operators do).
 */

describe('grants against a hostile department', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let base: string;
  let deadQueue: string;
  let grant: string;
  const tokens: Record<string, string> = {};
  let centre: { stop(): Promise<void> };
  let src: { stop(): Promise<void> };
  let full: { stop(): Promise<void> } | null = null;

  beforeAll(async () => {
    let passwords: Record<string, string>;
    ({ x, centreDb, base, passwords } = await governedItemExchange('ghx', ['src', 'part']));
    Object.assign(tokens, passwords);
    await x.ex.ok('init');
    const topology = Topology.of(loadProject(x.ex.config).project!.config);
    deadQueue = topology.deadQueue('full');
    centre = x.ex.centre();
    src = x.ex.up('warn', ['src', 'part']);
    full = x.ex.up('warn', ['full']);
    await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
    for (const name of Object.keys(tokens)) tokens[name] = await login(name, tokens[name]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([src?.stop(), full?.stop(), centre?.stop()]);
    await x?.destroy();
    await centreDb?.drop();
  }, 60_000);

  it('a grant approved after records were withheld delivers them (docs: "so that a later grant delivers afresh")', async () => {
    await insertItems(x.src, validItems(20));
    await waitFor('the 20 records withheld from full', async () => (await status()).find((r) => r.target === 'full')!.withheld === 20, 60_000);
    const applied = await dxgWith({ DXG_CENTRE_TOKEN: tokens.op }, 'apply', '--resource', 'test.item', '--department', 'full',
      '--items', 'code,title,amount,qty,born,active,status,updated_at', '--purpose', '测试', '--basis', '测试依据', '--on-end', 'purge');
    grant = /^(A\d+) submitted/m.exec(applied.stdout)![1];
    expect((await dxgWith({ DXG_CENTRE_TOKEN: tokens['appr-src'] }, 'approve', grant)).stdout).toContain('broker: bound items → full');
    await insertItems(x.src, validItems(5, 100));
    await waitFor('the 5 records inserted after the approval at full', async () => (await countRows(x.full, 't_full')) >= 5, 60_000);
    await new Promise((r) => setTimeout(r, 5000));
    expect(await countRows(x.full, 't_full')).toBe(25);
  }, 180_000);

  it('after revocation the revoked department cannot read what waited for it', async () => {
    await full!.stop();
    full = null;
    // counted from what full was sent so far (the first case's 5, and the 20 its grant delivered afresh): these 7 must wait in the queue
    const before = (await status()).find((r) => r.target === 'full')!.published;
    await insertItems(x.src, validItems(7, 200));
    await waitFor('7 records published to full', async () => (await status()).find((r) => r.target === 'full')!.published >= before + 7, 60_000);
    const revoked = await dxgWith({ DXG_CENTRE_TOKEN: tokens['appr-src'] }, 'revoke', grant, '--reason', '测试结束');
    expect(revoked.stdout).toMatch(/taken back unread/);

    // full's own broker user, as a hostile department would use it, reads its dead-letter queue
    const titles = await readAs(departmentBrokerUrl(x.ex, 'full'), deadQueue);
    expect(titles).toEqual([]);
  }, 240_000);

  it('after revocation the revoked department does not keep what waited for it (on_end purge)', async () => {
    full = x.ex.up('warn', ['full']);
    await waitFor('the counts of full settled', async () => (await status()).find((r) => r.target === 'full')!.rejected === 7, 90_000);
    const kept = await x.full.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_quarantine WHERE reason LIKE 'grant revoked%' AND record IS NOT NULL`);
    expect(Number(kept[0].n)).toBe(0);
  }, 240_000);

  it('a new grant after a purge delivers the whole flow again (found by a tester: the target stayed empty, nothing having been withheld since)', async () => {
    await waitFor('full purged', async () => (await countRows(x.full, 't_full')) === 0, 60_000);
    const applied = await dxgWith({ DXG_CENTRE_TOKEN: tokens.op }, 'apply', '--resource', 'test.item', '--department', 'full',
      '--items', 'code,title,amount,qty,born,active,status,updated_at', '--purpose', '再次测试', '--basis', '测试依据');
    const again = /^(A\d+) submitted/m.exec(applied.stdout)![1];
    await dxgWith({ DXG_CENTRE_TOKEN: tokens['appr-src'] }, 'approve', again);
    const source = await countRows(x.src, 'src_item');
    await waitFor(`the ${source} source records at full again`, async () => (await countRows(x.full, 't_full')) === source, 90_000);
    const [resync] = await x.src.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'replay' AND to_dept = 'full' ORDER BY seq DESC LIMIT 1`);
    expect(resync.detail).toContain(`grant ${grant} revoked (purged) ended since it last had the whole flow`);
  }, 180_000);

  it('an approver of a department without a grant does not read the resource through the centre', async () => {
    const res = await fetch(`${base}/api/quarantine?department=full&all=true`, { headers: { authorization: `Bearer ${tokens['appr-part']}` } });
    const body = (await res.json()) as { items?: { record?: unknown }[] };
    const records = (body.items ?? []).filter((i) => i.record);
    expect(records).toEqual([]);
  }, 60_000);

  it('an operator cannot change a resource\'s terms by publishing the catalog (found by a hostile review: unconditional, then granted at once)', async () => {
    const asOp = { authorization: `Bearer ${tokens.op}`, 'content-type': 'application/json' };
    const published = (await (await fetch(`${base}/api/catalog/test.item`, { headers: asOp })).json()) as { title: string; provider: string; sharing: { type: string }; items: { name: string }[] };
    const publish = async (entry: unknown) => {
      const r = await fetch(`${base}/api/catalog`, { method: 'POST', headers: asOp, body: JSON.stringify({ entries: [entry] }) });
      return `${r.status} ${((await r.json()) as { error?: string }).error ?? ''}`;
    };
    expect(await publish({ ...published, sharing: { type: 'unconditional' } })).toMatch(/^400 .*sharing type 'unconditional' is not the one in the centre's catalog folder \('conditional'\)/);
    expect(await publish({ ...published, provider: 'part' })).toMatch(/^400 .*provider 'part' is not the provider in the centre's catalog folder \('src'\)/);
    expect(await publish({ ...published, items: published.items.slice(1) })).toMatch(/^400 .*items .* are not those of the centre's catalog folder/);
    expect(await publish({ ...published, resource: 'test.other' })).toMatch(/^400 .*not in the centre's catalog folder/);
    // two items merged into one name are not the two (a hostile re-review: the target could never be covered again), nor is a code changed to another's
    const merged = [...published.items.filter((i) => i.name !== 'status' && i.name !== 'title'), { name: 'status, title' }];
    expect(await publish({ ...published, items: merged })).toMatch(/^400 .*items .* are not those of the centre's catalog folder/);
    expect(await publish({ ...published, code: '0000-00/000000' })).toMatch(/^400 .*code '0000-00\/000000' is not the one in the centre's catalog folder/);
    // still conditional: an application for part waits for src's approver
    const applied = await dxgWith({ DXG_CENTRE_TOKEN: tokens.op }, 'apply', '--resource', 'test.item', '--department', 'part', '--items', 'code,title', '--purpose', '测试', '--basis', '测试依据');
    expect(applied.stdout).toMatch(/^A\d+ submitted/m);
    // a resource described anew is taken
    expect(await publish({ ...published, title: '测试条目（新版说明）' })).toMatch(/^200/);
    expect(((await (await fetch(`${base}/api/catalog/test.item`, { headers: asOp })).json()) as { title: string }).title).toBe('测试条目（新版说明）');
  }, 60_000);

  async function status(): Promise<{ target: string; published: number; applied: number; rejected: number; withheld: number }[]> {
    return JSON.parse(await x.ex.ok('status', '--format', 'json'));
  }

  async function login(name: string, password: string): Promise<string> {
    const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
    return ((await r.json()) as { token: string }).token;
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

/** The record titles in the envelopes of a queue, read (and left there) with the given broker credentials. */
async function readAs(url: string, queue: string): Promise<string[]> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    const titles: string[] = [];
    for (;;) {
      const msg = await ch.get(queue, { noAck: false });
      if (!msg) break;
      for (const r of bodyRecords(msg.properties.headers, msg.content, msg.properties.contentEncoding)) if (typeof r.data.title === 'string') titles.push(r.data.title);
    }
    await ch.close();
    return titles;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
