import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { sql } from '../../adapters/sql';
import { loadProject } from '../../gateway/config/project';
import { HEADERS, seal, sha256, signedText, type EnvelopeMeta } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { publishAs, waitFor } from '../helpers/broker';
import type { TestDatabase } from '../helpers/databases';
import type { TestExchange } from '../helpers/exchange';
import { everySecond, insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/**
 * Messages built to hurt a node, sent by departments that hold real keys: each is set aside with its
 * reason, none is retried forever or blows the node up, and the flow keeps applying what follows.
 */
describe('hostile messages at a MariaDB target', () => {
  let x: ItemExchange;
  let ex: TestExchange;
  let src: TestDatabase;
  let full: TestDatabase;
  let keyring: Keyring;
  let node: { stop(): Promise<void> };

  beforeAll(async () => {
    x = await itemExchange('hm', { full: 'mysql', flow: everySecond });
    ({ ex, src, full } = x);
    await ex.setUp();
    const { project } = loadProject(ex.config);
    keyring = new Keyring(project!.config.dirs.keys);
    node = ex.up();
  });

  afterAll(async () => {
    await node?.stop();
    await x?.destroy();
  });

  /** Signed headers for a body made by hand (a bomb cannot be built through seal without inflating it here). */
  const signed = (meta: EnvelopeMeta, body: Buffer, encoding: 'gzip' | 'identity') => ({
    [HEADERS.kind]: meta.kind, [HEADERS.flow]: meta.flow, [HEADERS.resource]: meta.resource, [HEADERS.from]: meta.from, [HEADERS.to]: meta.to,
    [HEADERS.sequence]: meta.sequence, [HEADERS.count]: meta.count, [HEADERS.sha256]: sha256(body),
    [HEADERS.signature]: keyring.sign(meta.from, signedText(meta, encoding, sha256(body))),
  });
  const records = (from: string, messageId = randomUUID()): EnvelopeMeta => ({ kind: 'records', messageId, flow: 'items', resource: 'test.item', from, to: 'full', sequence: 1, count: 1 });
  const deadLetter = (messageId: string) => waitFor(`dead letter ${messageId}`, async () =>
    (await full.query<{ reason: string; headers: string; body: Buffer | null }>(sql`SELECT reason, headers, body FROM dxg_quarantine WHERE message_id = ${messageId}`))[0], 60_000);
  const keepsFlowing = async (from: number) => {
    await insertItems(src, validItems(2, from));
    await waitFor('the next records at the target', async () => (await snapshot(full, 't_full')).has(`AB${String(from + 1).padStart(4, '0')}`), 60_000);
  };

  it('stores a 17 MiB message (larger than MariaDB takes in one packet) as its start, size and digest', async () => {
    const meta = records('src');
    const body = randomBytes(17 * 1024 * 1024);
    await publishAs(ex, 'src', 'records', 'full.items', body, { messageId: meta.messageId, headers: signed(meta, body, 'identity') });
    const stored = await deadLetter(meta.messageId);
    expect(stored.reason).toBe(`message of ${body.length} bytes exceeds the limit of 16777216`);
    expect(JSON.parse(stored.headers)['x-dxg-stored']).toBe(`first 65536 of ${body.length} bytes; body sha256 ${sha256(body)}`);
    expect(Buffer.from(stored.body!).equals(body.subarray(0, 65536))).toBe(true);
    const replay = await ex.dxg('replay', '--department', 'full', '--stage', 'dead-letter', '--timeout', '5');
    expect(replay.stdout + replay.stderr).toContain('only part of it was stored');
    await keepsFlowing(0);
  });

  it('judges the sender and addressee of a gzip bomb before inflating it', async () => {
    // 64 MiB of spaces gzip to some 64 KB. Department part is real and signs, but sends no flow to
    // full: the only queue it reaches is the receipts queue of src, whose flows it receives.
    const body = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '), { level: 9 });
    const asRecords = { ...records('part'), to: 'src' };
    await publishAs(ex, 'part', 'receipts', 'src', body, { messageId: asRecords.messageId, contentEncoding: 'gzip', headers: signed(asRecords, body, 'gzip') });
    const claimingSource = { ...records('src'), to: 'src' };
    await publishAs(ex, 'part', 'receipts', 'src', body, { messageId: claimingSource.messageId, contentEncoding: 'gzip', headers: signed(claimingSource, body, 'gzip') });
    const stored = (id: string) => waitFor(`dead letter ${id} at src`, async () =>
      (await src.query<{ reason: string }>(sql`SELECT reason FROM dxg_quarantine WHERE message_id = ${id}`))[0], 60_000);
    expect((await stored(asRecords.messageId)).reason).toBe('a records message arrived on the receipts queue');
    expect((await stored(claimingSource.messageId)).reason).toBe(`published by broker user '${ex.name}.part', not by '${ex.name}.src' of department 'src' it claims to come from`);
    await keepsFlowing(2);
  });

  it('inflates a bomb from the real source no further than a message may be', async () => {
    const body = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '), { level: 9 });
    const meta = records('src');
    await publishAs(ex, 'src', 'records', 'full.items', body, { messageId: meta.messageId, contentEncoding: 'gzip', headers: signed(meta, body, 'gzip') });
    expect((await deadLetter(meta.messageId)).reason).toMatch(/^body cannot be decompressed: .*(larger than|maxOutputLength|buffer)/i);
    await keepsFlowing(4);
  });

  /** A records envelope in rows (format 4) signed by src, as its node would seal it, with the body given. */
  const rowsEnvelope = async (body: unknown, count: number) => {
    const [head] = await src.query<{ seq: string | number; hash: string }>(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = 1`);
    return seal(keyring, { ...records('src'), count, head: { seq: String(head.seq), hash: head.hash }, layout: 'rows' }, body);
  };
  const row = (code: string) => [code, '1', 'u', code, '合法名称', null, 1, null, true, '1', '2026-01-01T00:00:00.000000Z'];
  const INDICATORS = ['code', 'title', 'amount', 'qty', 'born', 'active', 'status', 'updated_at'];

  it('sets aside a rows body that does not fit its own header, or declares what the flow does not send here, each with its reason', async () => {
    const cases: [unknown, number, string][] = [
      [{ indicators: INDICATORS, key: ['code'], rows: [row('AB8001').slice(0, 6)] }, 1, 'row 0 holds 3 values for 8 indicators'],
      [{ indicators: ['__proto__', ...INDICATORS.slice(1)], key: ['code'], rows: [row('AB8002')] }, 1, "body declares indicator '__proto__', which flow 'items' does not send to this target"],
      // one long name declared once would be copied into every reject: the body is refused whole
      [{ indicators: [...INDICATORS.slice(0, 7), 'x'.repeat(200_000)], key: ['code'], rows: [row('AB8006')] }, 1, `body declares indicator '${'x'.repeat(100)}…', which flow 'items' does not send to this target`],
      [{ indicators: INDICATORS, key: ['code'], rows: [['AB8003', '1', 'x', 'AB8003']] }, 1, "row 0 has unknown operation 'x'"],
      [{ indicators: INDICATORS, key: ['code'], rows: [row('AB8004'), row('AB8005')] }, 1, 'body holds 2 records but the signed header says 1'],
      [{ records: [] }, 1, 'body has no rows list'],
    ];
    for (const [body, count, reason] of cases) {
      const s = await rowsEnvelope(body, count);
      await publishAs(ex, 'src', 'records', 'full.items', s.body, { messageId: s.meta.messageId, headers: s.headers, contentEncoding: s.contentEncoding });
      expect((await deadLetter(s.meta.messageId)).reason).toBe(reason);
    }
    expect([...(await snapshot(full, 't_full')).keys()].filter((k) => k.startsWith('AB80'))).toEqual([]);
    await keepsFlowing(8);
  });

  it('applies records sent in rows, and refuses a layout claim the sender did not sign', async () => {
    const good = await rowsEnvelope({ indicators: INDICATORS, key: ['code'], rows: [row('AB8101')] }, 1);
    await publishAs(ex, 'src', 'records', 'full.items', good.body, { messageId: good.meta.messageId, headers: good.headers, contentEncoding: good.contentEncoding });
    await waitFor('AB8101 at the target', async () => (await snapshot(full, 't_full')).get('AB8101'), 60_000);

    // a format 3 envelope's objects relabelled as rows, and a rows envelope stripped of its layout header
    const objects = await seal(keyring, { ...records('src'), head: good.meta.head }, { records: [{ key: 'AB8102', version: '1', op: 'upsert', data: {} }] });
    const relabelled = { ...objects.headers, [HEADERS.format]: 4, [HEADERS.layout]: 'rows' };
    await publishAs(ex, 'src', 'records', 'full.items', objects.body, { messageId: objects.meta.messageId, headers: relabelled, contentEncoding: objects.contentEncoding });
    expect((await deadLetter(objects.meta.messageId)).reason).toBe("signature does not verify with the public key of department 'src' (forged or altered)");
    const stripped = await rowsEnvelope({ indicators: INDICATORS, key: ['code'], rows: [row('AB8103')] }, 1);
    const { [HEADERS.layout]: _layout, ...withoutLayout } = stripped.headers;
    await publishAs(ex, 'src', 'records', 'full.items', stripped.body, { messageId: stripped.meta.messageId, headers: withoutLayout, contentEncoding: stripped.contentEncoding });
    expect((await deadLetter(stripped.meta.messageId)).reason).toBe('header dxg-body is missing');
    await keepsFlowing(10);
  });

  it('puts a signed receipt for an envelope never sent on the record as an anomaly, and does not count it', async () => {
    const answered = randomUUID();
    const receipt = { kind: 'records', messageId: answered, flow: 'items', department: 'full', applied: 5, superseded: 0, rejected: 0, rejects: [] };
    const s = await seal(keyring, { kind: 'receipt', messageId: randomUUID(), flow: 'items', resource: 'test.item', from: 'full', to: 'src', sequence: 1, count: 5 }, receipt);
    await publishAs(ex, 'full', 'receipts', 'src', s.body, { messageId: s.meta.messageId, headers: s.headers, contentEncoding: s.contentEncoding });
    const anomaly = await waitFor('the anomaly in the source ledger', async () =>
      (await src.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'anomaly' AND message_id = ${s.meta.messageId}`))[0], 30_000);
    expect(JSON.parse(anomaly.detail).reason).toBe(`receipt from 'full' for envelope ${answered}, which this department never sent to it under flow 'items'`);
    expect(await src.query(sql`SELECT message_id FROM dxg_receipts WHERE message_id = ${answered}`)).toEqual([]);
    await keepsFlowing(12);
    const rows = JSON.parse(await ex.ok('status', '--format', 'json')) as { target: string; awaitingReceipt: number; reconciled: string }[];
    for (const r of rows) expect(r.awaitingReceipt).toBeGreaterThanOrEqual(0);
    expect(rows.find((r) => r.target === 'full')!.reconciled).not.toMatch(/negative|do not/);
  });
});
