import { randomUUID } from 'node:crypto';
import { sql } from '../../adapters/sql';
import { loadProject } from '../../gateway/config/project';
import { seal } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { Runtime } from '../../gateway/node/runtime';
import { publishAs, tap, Tapped, waitFor } from '../helpers/broker';
import { createTestDatabase, type Driver, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

const INVALID = [
  { code: 'bad-1', title: '格式错误的编码', amount: '1.0000', qty: 1, born: null, active: true, status: '1' },
  { code: 'AB9001', title: '短', amount: null, qty: 2, born: null, active: null, status: '1' },
  { code: 'AB9002', title: '负数量', amount: null, qty: -3, born: null, active: null, status: '2' },
  { code: 'AB9003', title: '未知状态', amount: null, qty: 4, born: null, active: null, status: '9' },
];
// valid for the indicator set, but longer than t_part.mc (10): the part target's database refuses them
const TOO_LONG = [
  { code: 'AB9101', title: '这是一个超过十个字符的很长的名称', amount: null, qty: 5, born: null, active: true, status: '1' },
  { code: 'AB9102', title: '另一个超过十个字符的很长名称啊', amount: null, qty: 6, born: null, active: false, status: '2' },
];
const CODES: Record<string, string> = { '1': '存续', '2': '在业' };

interface Totals {
  extracted: number;
  quarantined: number;
  published: Record<string, number>;
  filtered: Record<string, number>;
  quarantinedFor: Record<string, number>;
}

/** The source ledger's figures: what must reconcile. */
async function sourceTotals(db: TestDatabase): Promise<Totals> {
  const rows = await db.query<{ kind: string; to_dept: string | null; record_count: number | string; detail: string | null }>(
    sql`SELECT kind, to_dept, record_count, detail FROM dxg_ledger`);
  const t: Totals = { extracted: 0, quarantined: 0, published: {}, filtered: {}, quarantinedFor: {} };
  for (const r of rows) {
    const n = Number(r.record_count);
    if (r.kind === 'extract') {
      t.extracted += n;
      for (const [to, f] of Object.entries((JSON.parse(r.detail ?? '{}').filtered ?? {}) as Record<string, number>)) t.filtered[to] = (t.filtered[to] ?? 0) + f;
    }
    if (r.kind === 'quarantine' && !r.to_dept) t.quarantined += n;
    if (r.kind === 'quarantine' && r.to_dept) t.quarantinedFor[r.to_dept] = (t.quarantinedFor[r.to_dept] ?? 0) + n;
    if (r.kind === 'publish') t.published[r.to_dept!] = (t.published[r.to_dept!] ?? 0) + n;
  }
  return t;
}

async function targetApplied(db: TestDatabase): Promise<{ applied: number; rejected: number }> {
  const rows = await db.query<{ kind: string; n: string | number | null }>(sql`SELECT kind, sum(record_count) AS n FROM dxg_ledger WHERE kind IN ('apply', 'reject') GROUP BY kind`);
  const get = (k: string) => Number(rows.find((r) => r.kind === k)?.n ?? 0);
  return { applied: get('apply'), rejected: get('reject') };
}

describe.each<[string, Driver, Driver]>([
  ['PostgreSQL → PostgreSQL', 'postgres', 'postgres'],
  ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
  ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
])('exchange %s', (_name, sourceDriver, targetDriver) => {
  let src: TestDatabase;
  let full: TestDatabase;
  let part: TestDatabase;
  let ex: TestExchange;
  let partTap: Awaited<ReturnType<typeof tap>>;
  let fullTap: Awaited<ReturnType<typeof tap>>;
  const fullSeen: Tapped[] = [];

  beforeAll(async () => {
    [src, full, part] = await Promise.all([createTestDatabase(sourceDriver, 'src'), createTestDatabase(targetDriver, 'full'), createTestDatabase(targetDriver, 'part')]);
    await createSource(src);
    await createTargets(full, part);
    await insertItems(src, [...validItems(300), ...INVALID, ...TOO_LONG]);
    ex = new TestExchange(
      { src: { driver: src.driver, url: src.url }, full: { driver: full.driver, url: full.url }, part: { driver: part.driver, url: part.url } },
      { items: itemFlow('src', 'full', 'part') },
      { 'test.item': ITEM_SET },
    );
    await ex.setUp();
    partTap = await tap(ex, 'src', 'part.items');
    fullTap = await tap(ex, 'src', 'full.items');
  });

  afterAll(async () => {
    if (process.env.DXG_KEEP) return console.log('kept', ex.dir);
    await partTap?.close();
    await fullTap?.close();
    await ex?.destroy();
    await Promise.all([src, full, part].map((d) => d?.drop()));
  });

  it('makes each target equal its projection of the source, quarantines and rejects with reasons, and the counts reconcile', async () => {
    await ex.ok('run', '--once');
    const source = await snapshot(src, 'src_item');
    const invalid = new Set(INVALID.map((i) => i.code));
    const valid = [...source.values()].filter((r) => !invalid.has(r.code!));

    const expectedFull = new Map(valid.map((r) => [r.code!, { ...r, src_updated: r.updated_at, updated_at: undefined }]));
    const actualFull = await snapshot(full, 't_full');
    expect(actualFull.size).toBe(expectedFull.size);
    for (const [code, row] of expectedFull) {
      const { updated_at: _u, ...want } = row;
      expect(actualFull.get(code)).toEqual(want);
    }

    const tooLong = new Set(TOO_LONG.map((i) => i.code));
    const expectedPart = valid.filter((r) => ['1', '2'].includes(r.status!) && !tooLong.has(r.code!));
    const actualPart = await snapshot(part, 't_part');
    expect(new Map([...actualPart].map(([k, v]) => [k, v]))).toEqual(new Map(expectedPart.map((r) => [r.code!, { bh: r.code, mc: r.title, zt: CODES[r.status!] }])));

    // quarantined at the source, each with a reason naming the indicator at fault
    const quarantined = await src.query<{ record_key: string; reason: string; stage: string }>(sql`SELECT record_key, reason, stage FROM dxg_quarantine ORDER BY record_key`);
    expect(quarantined.map((q) => q.record_key).sort()).toEqual([...invalid].sort());
    const reason = (k: string) => quarantined.find((q) => q.record_key === k)!.reason;
    expect(reason('bad-1')).toMatch(/^code: must match pattern/);
    expect(reason('AB9001')).toMatch(/^title: must NOT have fewer than 2 characters/);
    expect(reason('AB9002')).toMatch(/^qty: must be >= 0/);
    expect(reason('AB9003')).toMatch(/^status: must be one of "1", "2", "3"/);

    // rejected at the part target by its database, with the database's reason, and reported in the receipt
    const rejected = await part.query<{ record_key: string; reason: string; stage: string }>(sql`SELECT record_key, reason, stage FROM dxg_quarantine`);
    expect(rejected.map((r) => r.record_key).sort()).toEqual([...tooLong].sort());
    expect(rejected.every((r) => r.stage === 'target' && /target database refused the record: .*(too long|mc)/i.test(r.reason))).toBe(true);
    const receipts = await src.query<{ to_dept: string; applied: number | string; rejected: number | string }>(sql`SELECT to_dept, applied, rejected FROM dxg_receipts`);
    const receiptSum = (to: string, k: 'applied' | 'rejected') => receipts.filter((r) => r.to_dept === to).reduce((n, r) => n + Number(r[k]), 0);
    expect(receiptSum('part', 'rejected')).toBe(2);

    // DESIGN §5: extracted = published + quarantined (+ filtered) per target; published = applied + rejected
    const t = await sourceTotals(src);
    expect(t.extracted).toBe(source.size);
    expect(t.quarantined).toBe(INVALID.length);
    for (const to of ['full', 'part']) {
      expect(t.published[to] + t.quarantined + (t.quarantinedFor[to] ?? 0) + (t.filtered[to] ?? 0)).toBe(t.extracted);
      expect(receiptSum(to, 'applied') + receiptSum(to, 'rejected')).toBe(t.published[to]);
    }
    expect(t.filtered.part).toBe(valid.filter((r) => r.status === '3').length);
    const fullLedger = await targetApplied(full);
    const partLedger = await targetApplied(part);
    expect(fullLedger.applied + fullLedger.rejected).toBe(t.published.full);
    expect(partLedger).toEqual({ applied: t.published.part - 2, rejected: 2 });
  });

  it('sends a target only the indicators and records its flow grants it (checked on the message bodies)', async () => {
    const sent = await partTap.drain();
    expect(sent.length).toBeGreaterThan(1);
    const excluded = new Set([...(await snapshot(src, 'src_item')).values()].filter((r) => r.status === '3').map((r) => r.code));
    for (const m of sent) {
      for (const r of m.body.records) {
        expect(Object.keys(r.data).sort()).toEqual(['code', 'status', 'title']);
        expect(['1', '2']).toContain(r.data.status);
        expect(excluded.has(r.key)).toBe(false);
      }
    }
    fullSeen.push(...(await fullTap.drain()));
  });

  it('changes nothing on a second run', async () => {
    const before = [await snapshot(full, 't_full'), await snapshot(part, 't_part')];
    const ledgerSize = sql`SELECT count(*) AS n FROM dxg_ledger`;
    const ledgerBefore = await src.query(ledgerSize);
    const out = await ex.ok('run', '--once');
    expect(out).toMatch(/items\s*│\s*src → full\s*│\s*0\s*│/);
    expect(out).toMatch(/extracted\s*│\s*filtered\s*│\s*quarantined\s*│\s*withheld\s*│\s*published \/ msgs/);
    expect([await snapshot(full, 't_full'), await snapshot(part, 't_part')]).toEqual(before);
    expect(await src.query(ledgerSize)).toEqual(ledgerBefore);
    expect(await partTap.drain()).toEqual([]);
  });

  it('propagates updates, and never overwrites a record with an older version sent again', async () => {
    await src.execute(sql`UPDATE src_item SET title = ${'新名称一号'}, amount = ${'99999999999999.9999'} WHERE code = ${'AB0001'}`);
    await src.execute(sql`UPDATE src_item SET status = '3' WHERE code = ${'AB0002'}`);
    await ex.ok('run', '--once');
    const fullRows = await snapshot(full, 't_full');
    expect(fullRows.get('AB0001')).toMatchObject({ title: '新名称一号', amount: '99999999999999.9999' });
    expect(fullRows.get('AB0002')).toMatchObject({ status: '3' });
    // AB0002 left part's where: it is not sent there again
    const partSent = (await partTap.drain()).flatMap((m) => m.body.records.map((r) => r.key));
    expect(partSent).toEqual(['AB0001']);
    expect((await snapshot(part, 't_part')).get('AB0001')).toEqual({ bh: 'AB0001', mc: '新名称一号', zt: '在业' });

    // the first run's envelope holding AB0001's old version, sent again under a new id (a replay from a backup, say)
    const old = fullSeen.find((m) => m.body.records.some((r) => r.key === 'AB0001'))!;
    const { project } = loadProject(ex.config);
    const keyring = new Keyring(project!.config.dirs.keys);
    const records = old.body.records.filter((r) => r.key === 'AB0001');
    const messageId = randomUUID();
    const replayed = await seal(keyring, { kind: 'records', messageId, flow: 'items', resource: 'test.item', from: 'src', to: 'full', sequence: 1, count: 1 }, { records });
    await publishAs(ex, 'src', 'records', 'full.items', replayed.body, { messageId, headers: replayed.headers, contentEncoding: replayed.contentEncoding });
    // and the original message itself, delivered a second time
    await publishAs(ex, 'src', 'records', 'full.items', old.raw, { messageId: old.messageId, headers: old.headers, contentEncoding: old.contentEncoding });

    const runtime = await Runtime.start(project!, { departments: ['full'] });
    try {
      const applied = await waitFor('the replayed envelope to be applied', async () =>
        (await full.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'apply' AND message_id = ${messageId}`))[0]);
      expect(JSON.parse(applied.detail)).toMatchObject({ written: 0, superseded: 1 });
      await waitFor('the second delivery to be recognised', async () =>
        (await full.query(sql`SELECT seq FROM dxg_ledger WHERE kind = 'duplicate' AND message_id = ${old.messageId}`))[0]);
    } finally {
      await runtime.stop();
    }
    expect((await snapshot(full, 't_full')).get('AB0001')).toMatchObject({ title: '新名称一号', amount: '99999999999999.9999' });
  });

  it('dead-letters a forged message with its reason and an audit entry, and keeps applying the rest', async () => {
    const impostor = new Keyring(`${ex.dir}/impostor-keys`);
    impostor.generate(['src']); // a key pair named like the source department, but not its key
    const messageId = randomUUID();
    const forged = await seal(impostor, { kind: 'records', messageId, flow: 'items', resource: 'test.item', from: 'src', to: 'full', sequence: 99, count: 1 }, {
      records: [{ key: 'AB0003', version: '99999999999999999', op: 'upsert', data: { code: 'AB0003', title: '伪造的记录', status: '1', updated_at: '2099-01-01T00:00:00' } }],
    });
    await publishAs(ex, 'src', 'records', 'full.items', forged.body, { messageId, headers: forged.headers, contentEncoding: forged.contentEncoding });
    await publishAs(ex, 'src', 'records', 'full.items', Buffer.from('not json at all'), { messageId: 'garbage-1', headers: { 'dxg-kind': 'records' } });

    await src.execute(sql`UPDATE src_item SET title = ${'更新后仍然送达'} WHERE code = ${'AB0004'}`);
    await ex.ok('run', '--once');

    const dead = await full.query<{ message_id: string; reason: string; stage: string }>(sql`SELECT message_id, reason, stage FROM dxg_quarantine WHERE stage = 'dead-letter' ORDER BY message_id`);
    expect(dead).toEqual([
      { message_id: messageId, stage: 'dead-letter', reason: "signature does not verify with the public key of department 'src' (forged or altered)" },
      { message_id: 'garbage-1', stage: 'dead-letter', reason: 'header dxg-flow is missing' },
    ].sort((a, b) => a.message_id.localeCompare(b.message_id)));
    const audited = await full.query<{ message_id: string }>(sql`SELECT message_id FROM dxg_ledger WHERE kind = 'dead-letter'`);
    expect(audited.map((a) => a.message_id).sort()).toEqual([messageId, 'garbage-1'].sort());
    const rows = await snapshot(full, 't_full');
    expect(rows.get('AB0003')!.title).not.toBe('伪造的记录');
    expect(rows.get('AB0004')!.title).toBe('更新后仍然送达');
  });

  it('keeps every ledger verifiable, and detects an altered entry', async () => {
    expect(await ex.ok('audit', 'verify')).toMatch(/src: \d+ entries, chain and signatures intact/);
    const audit = JSON.parse(await ex.ok('audit', '--key', 'AB0001', '--format', 'json')) as { kind: string; ledger: string }[];
    expect(new Set(audit.map((e) => `${e.ledger}:${e.kind}`))).toEqual(new Set(['src:publish', 'full:apply', 'part:apply', 'src:receipt', 'full:duplicate']));
    await full.execute(sql`UPDATE dxg_ledger SET record_count = record_count + 1 WHERE kind = 'apply' AND seq = 1`);
    const r = await ex.dxg('audit', 'verify');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/full: BROKEN at entry 1: content does not match its hash \(altered\)/);
  });
});
