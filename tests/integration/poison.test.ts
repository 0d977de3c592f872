import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '../../adapters/sql';
import { loadProject } from '../../gateway/config/project';
import { seal } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { deadline, publishAs, waitFor } from '../helpers/broker';
import type { TestDatabase } from '../helpers/databases';
import { DXG, type TestExchange } from '../helpers/exchange';
import { everySecond, insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/** Poison messages, quarantine and replay, and a clean stop: each bad input is set aside with its reason and the rest keeps flowing. */
describe('poison, quarantine and replay', () => {
  let x: ItemExchange;
  let src: TestDatabase;
  let full: TestDatabase;
  let part: TestDatabase;
  let ex: TestExchange;
  let keyring: Keyring;

  beforeAll(async () => {
    // status 3 has no code at the part target: those records are quarantined at the source, for part only
    x = await itemExchange('p', { flow: (flow) => everySecond(flow.replace('    where: { status: { in: ["1", "2"] } }\n', '')) });
    ({ ex, src, full, part } = x);
    ex.setBroker('message_max_bytes', 65536);
    await ex.setUp();
    const { project } = loadProject(ex.config);
    keyring = new Keyring(project!.config.dirs.keys);
    await insertItems(src, validItems(60));
  });

  afterAll(async () => {
    await x?.destroy();
  });

  /** dxg status, one row per target: every record accounted for, first attempts and replays */
  const status = async () => {
    const rows = JSON.parse(await ex.ok('status', '--format', 'json')) as Record<string, number | string>[];
    return new Map(rows.map((r) => [String(r.target), r]));
  };
  const balanced = (r: Record<string, number | string>) => {
    const n = (k: string) => Number(r[k]);
    expect(n('extracted') + n('replayedAtSource')).toBe(n('published') + n('quarantined') + n('filtered'));
    expect(n('published') + n('replayedAtTarget')).toBe(n('applied') + n('rejected'));
    expect(r.reconciled).toBe('yes');
  };
  const envelope = async (overrides: Partial<Parameters<typeof seal>[1]>, payload: unknown) => {
    const messageId = randomUUID();
    const s = await seal(keyring, { kind: 'records', messageId, flow: 'items', resource: 'test.item', from: 'src', to: 'full', sequence: 1, count: 1, ...overrides }, payload);
    return { messageId, body: s.body, headers: s.headers, contentEncoding: s.contentEncoding };
  };

  it('dead-letters each kind of poison with its reason and an audit entry, and keeps applying the rest', async () => {
    const record = { key: 'AB0001', version: '1', op: 'upsert', data: { code: 'AB0001', title: '毒', status: '1', updated_at: '2020-01-01T00:00:00' } };
    const cases = [
      await envelope({ flow: 'nope' }, { records: [record] }),
      await envelope({ to: 'elsewhere' }, { records: [record] }),
      await envelope({ resource: 'other.set' }, { records: [record] }),
      await envelope({}, 'not a records body'),
      // random titles: a body gzip cannot shrink below the limit
      await envelope({ count: 1500 }, { records: Array.from({ length: 1500 }, (_, i) => ({ ...record, key: `K${i}`, data: { ...record.data, title: randomBytes(60).toString('base64') } })) }),
    ];
    for (const c of cases) await publishAs(ex, 'src', 'records', 'full.items', c.body, { messageId: c.messageId, headers: c.headers, contentEncoding: c.contentEncoding });
    const corrupt = await envelope({}, { records: [record] });
    const flipped = Buffer.from(corrupt.body);
    flipped[flipped.length - 2] ^= 1;
    await publishAs(ex, 'src', 'records', 'full.items', flipped, { messageId: corrupt.messageId, headers: corrupt.headers });

    await ex.ok('run', '--once');
    const dead = await full.query<{ message_id: string; reason: string; flow: string | null; to_dept: string }>(sql`SELECT message_id, reason, flow, to_dept FROM dxg_quarantine WHERE stage = 'dead-letter'`);
    const reason = (id: string) => dead.find((d) => d.message_id === id)?.reason;
    expect(reason(cases[0].messageId)).toBe("for flow 'nope', which is not received on this queue (flow 'items')");
    // a flow the exchange does not have is no name to record it under (nor the centre's alarms, nor the metrics' labels): the headers keep the claim
    const [ledgered] = await full.query<{ flow: string | null }>(sql`SELECT flow FROM dxg_ledger WHERE kind = 'dead-letter' AND message_id = ${cases[0].messageId}`);
    expect([dead.find((d) => d.message_id === cases[0].messageId)?.flow, ledgered.flow]).toEqual([null, null]);
    expect(dead.find((d) => d.message_id === cases[1].messageId)?.flow).toBe('items');
    expect(reason(cases[1].messageId)).toBe("addressed to department 'elsewhere', not 'full'");
    expect(reason(cases[2].messageId)).toMatch(/^resource 'other\.set' is not the resource of flow 'items'/);
    expect(reason(cases[3].messageId)).toBe('body has no records list');
    expect(reason(cases[4].messageId)).toMatch(/^message of \d+ bytes exceeds the limit of 65536$/);
    expect(reason(corrupt.messageId)).toBe('body does not match its SHA-256 digest (corrupted or altered)');
    const audited = await full.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_ledger WHERE kind = 'dead-letter'`);
    expect(Number(audited[0].n)).toBe(6);
    expect((await snapshot(full, 't_full')).size).toBe(60); // the real data went through
  });

  it('lists what was set aside, and replays source quarantine once the code table is fixed', async () => {
    const listed = JSON.parse(await ex.ok('quarantine', '--department', 'src', '--format', 'json')) as { stage: string; to_dept: string; reason: string; record_key: string }[];
    const status3 = validItems(60).filter((i) => i.status === '3').map((i) => i.code);
    expect(listed.map((l) => l.record_key).sort()).toEqual(status3.sort());
    expect(listed.every((l) => l.stage === 'source' && l.to_dept === 'part' && /status: value "3" has no entry in the code table of target 'part'/.test(l.reason))).toBe(true);
    expect((await snapshot(part, 't_part')).size).toBe(60 - status3.length);

    const flowFile = join(ex.dir, 'flows', 'items.yaml');
    writeFileSync(flowFile, readFileSync(flowFile, 'utf8').replace('"2": "在业" }', '"2": "在业", "3": "吊销" }'));
    const out = await ex.ok('replay', '--stage', 'source');
    expect(out).toMatch(new RegExp(`src\\s*│\\s*source\\s*│\\s*items\\s*│\\s*${status3.length}\\s*│\\s*${status3.length}\\s*│\\s*0`));
    const part3 = [...(await snapshot(part, 't_part')).values()].filter((r) => r.zt === '吊销').map((r) => r.bh);
    expect(part3.sort()).toEqual(status3.sort());
    expect(JSON.parse(await ex.ok('quarantine', '--department', 'src', '--format', 'json'))).toEqual([]);
    const steps = JSON.parse(await ex.ok('audit', '--key', status3[0], '--format', 'json')) as { ledger: string; kind: string }[];
    expect(steps.map((s) => `${s.ledger}:${s.kind}`)).toEqual(expect.arrayContaining(['src:quarantine', 'src:replay', 'src:publish', 'part:apply']));
    // the replayed records count once as quarantined (first attempt) and once as published (the replay)
    const after = await status();
    expect(after.get('part')).toMatchObject({ replayedAtSource: status3.length, quarantined: status3.length });
    balanced(after.get('part')!);
    balanced(after.get('full')!);
  });

  it('replays records a target refused once the target is fixed, and dead letters once the sender is known', async () => {
    // titles longer than part's column (10) are refused there
    await src.execute(sql`UPDATE src_item SET title = '一个超过十个字符长度的新标题' WHERE code IN ('AB0004', 'AB0005')`);
    await ex.ok('run', '--once');
    expect((await part.query(sql`SELECT record_key FROM dxg_quarantine WHERE stage = 'target' AND status = 'open' ORDER BY 1`)).map((r) => r.record_key)).toEqual(['AB0004', 'AB0005']);
    await part.run('ALTER TABLE t_part ALTER COLUMN mc TYPE varchar(40)');
    await ex.ok('replay', '--department', 'part', '--stage', 'target');
    expect((await snapshot(part, 't_part')).get('AB0004')!.mc).toBe('一个超过十个字符长度的新标题');
    expect(await part.query(sql`SELECT record_key FROM dxg_quarantine WHERE stage = 'target' AND status = 'open'`)).toEqual([]);
    // the source learns of the second attempt by a receipt, as of the first
    const replayed = (await status()).get('part')!;
    expect(replayed).toMatchObject({ replayedAtTarget: 2, rejected: 2 });
    balanced(replayed);

    // the target node does not know the source's key yet: everything it gets is dead-lettered
    const pub = join(ex.dir, 'keys', 'src.pub');
    renameSync(pub, `${pub}.away`);
    await src.execute(sql`UPDATE src_item SET title = '等待公钥' WHERE code = 'AB0007'`);
    const run = await ex.dxg('run', '--once', '--timeout', '3');
    renameSync(`${pub}.away`, pub);
    expect(run.code).toBe(2); // no receipt: the envelopes were dead-lettered
    const dead = await full.query<{ reason: string }>(sql`SELECT reason FROM dxg_quarantine WHERE stage = 'dead-letter' AND status = 'open' AND reason LIKE 'sender%'`);
    expect(dead.length).toBeGreaterThan(0);
    expect(dead[0].reason).toBe("sender 'src' has no public key here");
    await ex.ok('replay', '--department', 'full', '--stage', 'dead-letter');
    await ex.ok('run', '--once');
    expect((await snapshot(full, 't_full')).get('AB0007')!.title).toBe('等待公钥');
    const replays = await full.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_ledger WHERE kind = 'replay'`);
    expect(Number(replays[0].n)).toBeGreaterThan(0);
  });

  it('closes an item once its record is fixed at the source and goes through, instead of keeping the old version for replay', async () => {
    await insertItems(src, [{ ...validItems(1, 900)[0], title: '短' }]); // one character: the indicator set wants two
    await ex.ok('run', '--once');
    const open = () => src.query<{ record_key: string; status: string }>(sql`SELECT record_key, status FROM dxg_quarantine WHERE stage = 'source' AND record_key = 'AB0900'`);
    expect(await open()).toEqual([{ record_key: 'AB0900', status: 'open' }]);
    // replayed before the cause is fixed: set aside again, and the replay says why
    const again = await ex.ok('replay', '--department', 'src', '--stage', 'source');
    expect(again).toMatch(/src\s*│\s*source\s*│\s*items\s*│\s*1\s*│\s*0\s*│\s*1\s*│\s*set aside again: title: must NOT have fewer than 2 characters/);
    expect((await open()).map((o) => o.status).sort()).toEqual(['open', 'replayed']);
    await src.execute(sql`UPDATE src_item SET title = '修正后的标题' WHERE code = 'AB0900'`);
    await ex.ok('run', '--once');
    expect((await snapshot(full, 't_full')).get('AB0900')!.title).toBe('修正后的标题');
    expect((await open()).map((o) => o.status).sort()).toEqual(['replayed', 'superseded']);
    expect(JSON.parse(await ex.ok('quarantine', '--department', 'src', '--format', 'json'))).toEqual([]);
    // part's copy of the envelope dead-lettered above is the one thing still without a receipt
    expect((await status()).get('part')!.awaitingReceipt).toBe(1);
    await ex.ok('replay', '--department', 'part', '--stage', 'dead-letter');
    await ex.ok('run', '--once');
    for (const row of (await status()).values()) balanced(row);
  });

  it('dismisses an item for good with a reason, in the ledger, and the counts still add up (a key entered wrong is never superseded; found by a tester)', async () => {
    await insertItems(src, [{ ...validItems(1, 960)[0], title: '短' }]);
    await ex.ok('run', '--once');
    const [found] = await src.query<{ id: number | string }>(sql`SELECT id FROM dxg_quarantine WHERE stage = 'source' AND status = 'open' AND record_key = 'AB0960'`);
    const item = { id: Number(found.id) };
    expect((await ex.dxg('dismiss', '--department', 'src', '--id', String(item.id))).stderr).toContain("required option '--reason <text>' not specified");
    const out = await ex.ok('dismiss', '--department', 'src', '--id', String(item.id), '999999', '--reason', '编号录入错误，已按正确编号重新登记');
    expect(out).toContain('src: 1 item dismissed; 1 of the ids given were not open');
    expect(JSON.parse(await ex.ok('quarantine', '--department', 'src', '--format', 'json'))).toEqual([]);
    const all = JSON.parse(await ex.ok('quarantine', '--department', 'src', '--all', '--format', 'json')) as { id: number; status: string }[];
    expect(all.find((i) => i.id === item.id)?.status).toBe('dismissed');
    const [entry] = await src.query<{ record_keys: string; detail: string }>(sql`SELECT record_keys, detail FROM dxg_ledger WHERE kind = 'dismiss'`);
    expect([entry.record_keys, JSON.parse(entry.detail)]).toEqual(['AB0960', { stage: 'source', items: [item.id], reason: '编号录入错误，已按正确编号重新登记' }]);
    for (const row of (await status()).values()) balanced(row);
    expect((await ex.dxg('audit', 'verify')).code).toBe(0);
  });

  it('replays while the nodes run (dxg up takes the receipts from the same queue): it still learns the outcome, and exits 0 (found by a tester: it waited out its timeout)', async () => {
    const nodes = ex.up();
    try {
      // longer than part's column (40 since the case above): refused there, by the running node
      await insertItems(src, [{ ...validItems(1, 950)[0], title: '一个超过四十个字符长度的标题'.repeat(4) }]);
      const openAtPart = () => part.query<{ id: number }>(sql`SELECT id FROM dxg_quarantine WHERE stage = 'target' AND status = 'open' AND record_key = 'AB0950'`);
      await waitFor('AB0950 refused at part', async () => (await openAtPart()).length === 1, 60_000);
      const again = await ex.dxg('replay', '--department', 'part', '--stage', 'target', '--timeout', '30');
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/part\s*│\s*target\s*│\s*items\s*│\s*1\s*│\s*0\s*│\s*1/);
      await part.run('ALTER TABLE t_part ALTER COLUMN mc TYPE varchar(80)');
      const fixed = await ex.dxg('replay', '--department', 'part', '--stage', 'target', '--timeout', '30');
      expect([fixed.code, fixed.stderr]).toEqual([0, expect.not.stringContaining('no receipt')]);
      expect((await snapshot(part, 't_part')).get('AB0950')!.mc).toBe('一个超过四十个字符长度的标题'.repeat(4));
    } finally {
      await nodes.stop();
    }
    for (const row of (await status()).values()) balanced(row);
  });

  it('stops cleanly on SIGTERM, and at once on a second one, losing nothing', async () => {
    const children: ReturnType<typeof spawn>[] = [];
    const up = () => {
      const child = spawn(process.execPath, [DXG, '--config', ex.config, 'up'], { env: { ...process.env, DXG_LOG_FORMAT: 'json', DXG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      return child;
    };
    const exit = (child: ReturnType<typeof up>) => new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const node = up();
      let log = '';
      node.stderr!.on('data', (d) => (log += d));
      await waitFor('the nodes to start', async () => log.includes('nodes up'), 30_000);
      await insertItems(src, validItems(200, 1000));
      await waitFor('the first new records to arrive', async () => (await snapshot(full, 't_full')).has('AB1000') || undefined, 30_000);
      node.kill('SIGTERM');
      // bounded: the drain gives the work in hand 10 s, the outbox 5 s; a node still there at 30 s hangs
      expect(await deadline(exit(node), 30_000, 'the node to exit after SIGTERM')).toBe(0);
      expect(log).toMatch(/draining/);

      const again = up();
      let log2 = '';
      again.stderr!.on('data', (d) => (log2 += d));
      await waitFor('the nodes to start again', async () => log2.includes('nodes up'), 30_000);
      again.kill('SIGTERM');
      again.kill('SIGTERM');
      expect(await deadline(exit(again), 5_000, 'the node to exit at once after a second SIGTERM')).toBe(0);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    }
    await ex.ok('run', '--once');
    const rows = await snapshot(full, 't_full');
    for (const i of validItems(200, 1000)) expect(rows.get(i.code)?.title).toBe(i.title);
  });
});
