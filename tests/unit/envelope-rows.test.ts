import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADERS, open, seal, sealJson, type EnvelopeMeta } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { columnMapper, projector, recordsFromRows, rowsBody, type WireRecord } from '../../gateway/flow/records';
import type { FlowTarget } from '../../gateway/config/model';

const head = { seq: '7', hash: 'a'.repeat(64) };
const meta = (over: Partial<EnvelopeMeta> = {}): EnvelopeMeta => ({
  kind: 'records', messageId: 'm-1', flow: 'items', resource: 'test.item', from: 'src', to: 'full', sequence: 3, count: 2, head, ...over,
});

describe('records laid out in rows (envelope format 4)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dxg-rows-'));
  const keyring = new Keyring(dir);
  keyring.generate(['src']);

  const records: WireRecord[] = [
    { key: 'AB0001', version: '1700000000000001', op: 'upsert', data: { code: 'AB0001', title: '名称\t"引号"', amount: '1.50', extra: { a: [1, null] }, none: null } },
    { key: 'AB0002', version: '1700000000000002', op: 'delete', data: { code: 'AB0002' } },
  ];
  const INDICATORS = ['code', 'title', 'amount', 'extra', 'none'];
  const expected = { indicators: new Set([...INDICATORS, 'granted-but-unsent']), key: ['code'], flow: 'items' };
  const body = rowsBody(INDICATORS, ['code'])(records);

  it('reads back exactly the records it was written from, deletes with their key values only', () => {
    expect(recordsFromRows(JSON.parse(body), expected)).toEqual({ ok: true, value: records });
  });

  it('is sealed as format 4 with its layout signed, and opened with it', async () => {
    const sealed = await sealJson(keyring, meta({ layout: 'rows', grant: 'g-1' }), body);
    expect(sealed.headers).toMatchObject({ [HEADERS.format]: 4, [HEADERS.layout]: 'rows', [HEADERS.grant]: 'g-1' });
    const opened = await open(keyring, { messageId: 'm-1', headers: sealed.headers, contentEncoding: sealed.contentEncoding, body: sealed.body }, 1 << 20);
    expect(opened.meta).toMatchObject({ layout: 'rows', grant: 'g-1', head });
    // no grant: still format 4, and a grant added on the way breaks the signature
    const plain = await sealJson(keyring, meta({ layout: 'rows' }), body);
    expect(plain.headers[HEADERS.grant]).toBeUndefined();
    await expect(open(keyring, { messageId: 'm-1', headers: { ...plain.headers, [HEADERS.grant]: 'g-1' }, body: plain.body }, 1 << 20))
      .rejects.toThrow(/signature does not verify/);
  });

  it('keeps formats 2 and 3 for what is not laid out in rows', async () => {
    expect((await seal(keyring, meta(), { records })).headers[HEADERS.format]).toBe(2);
    expect((await seal(keyring, meta({ grant: 'g-1' }), { records })).headers[HEADERS.format]).toBe(3);
  });

  it('refuses a layout without the ledger head, on a message that is not records, or unknown', async () => {
    await expect(sealJson(keyring, meta({ layout: 'rows', head: undefined }), body)).rejects.toThrow(/format 4 only/);
    const receipt = await sealJson(keyring, meta({ layout: 'rows' }), body);
    await expect(open(keyring, { messageId: 'm-1', headers: { ...receipt.headers, [HEADERS.kind]: 'receipt' }, body: receipt.body }, 1 << 20))
      .rejects.toThrow('a receipt message has no body layout (only records are laid out in rows)');
    await expect(open(keyring, { messageId: 'm-1', headers: { ...receipt.headers, [HEADERS.layout]: 'columns' }, body: receipt.body }, 1 << 20))
      .rejects.toThrow("body layout 'columns' is not one this dxg knows (rows)");
  });

  it.each<[string, unknown, string]>([
    ['no rows', { indicators: ['a'], key: ['a'] }, 'body has no rows list'],
    ['a duplicate indicator', { indicators: ['a', 'a'], key: ['a'], rows: [] }, "body's indicators is not a list of distinct indicator names"],
    ['a key name that is no text', { indicators: ['a'], key: [1], rows: [] }, "body's key is not a list of distinct indicator names"],
    ['__proto__ as an indicator', { indicators: ['__proto__'], key: ['a'], rows: [] }, "body declares indicator '__proto__', which flow 'f' does not send to this target"],
    // a name is written once and would be copied into every record and reject: one the target has no use for stops the body
    ['an indicator the target is not sent, cut short', { indicators: ['a', 'x'.repeat(100_000)], key: ['a'], rows: [] }, `body declares indicator '${'x'.repeat(100)}…', which flow 'f' does not send to this target`],
    ['another key', { indicators: ['a', 'b'], key: ['b'], rows: [] }, "body's key (b) is not the key of flow 'f' (a)"],
    ['a row that is no list', { indicators: ['a'], key: ['a'], rows: [{ a: 1 }] }, 'row 0 is not a list'],
    ['a delete with all values', { indicators: ['a', 'b'], key: ['a'], rows: [['k', '1', 'd', 'k', 'x']] }, 'row 0 holds 2 values for 1 key indicators'],
  ])('refuses a body with %s', (_what, payload, reason) => {
    expect(recordsFromRows(payload, { indicators: new Set(['a', 'b']), key: ['a'], flow: 'f' })).toEqual({ ok: false, reason });
  });

  it('carries an indicator named like what every object inherits (toString, constructor) as any other, absent as null', () => {
    const target = { department: 'full', fields: { code: 'c', toString: 'ts', constructor: 'ctor' }, codes: {} } as unknown as FlowTarget;
    const sent = rowsBody(['code', 'toString', 'constructor'], ['code'])([{ key: 'k', version: '1', op: 'upsert', data: { code: 'k', toString: 'x' } }]);
    const back = recordsFromRows(JSON.parse(sent), { indicators: new Set(['code', 'toString', 'constructor']), key: ['code'], flow: 'f' });
    expect(back).toEqual({ ok: true, value: [{ key: 'k', version: '1', op: 'upsert', data: { code: 'k', toString: 'x', constructor: null } }] });
    expect(projector(target)({ code: 'k' })).toEqual({ ok: true, value: { code: 'k', toString: null, constructor: null } });
    expect(columnMapper(target)({ code: 'k', toString: 'x' })).toEqual({ ok: true, value: { c: 'k', ts: 'x', ctor: null } });
  });
});
