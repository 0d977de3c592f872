import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { HEADERS } from '../../gateway/envelope/envelope';
import { tap, type Tapped } from '../helpers/broker';
import { insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/**
 * An item exchange for the tests of one describe, with one broker setting and a tap on what src sends
 * full: set up before them, taken down after them.
 */
function tappedExchange(prefix: string, setting: [name: string, value: number], flow?: (yaml: string) => string) {
  const rig = {} as { x: ItemExchange; fullTap: Awaited<ReturnType<typeof tap>> };
  beforeAll(async () => {
    rig.x = await itemExchange(prefix, { flow });
    rig.x.ex.setBroker(...setting);
    await rig.x.ex.setUp();
    rig.fullTap = await tap(rig.x.ex, 'src', 'full.items');
  });
  afterAll(async () => {
    await rig.fullTap?.close();
    await rig.x?.destroy();
  });
  return rig;
}

/**
 * An upgrade under way: sources still send records as objects (`broker.envelope_format: 3`, what an
 * earlier release sends) to targets that read both; once every node is upgraded the setting goes and
 * records travel in rows (format 4). Both arrive whole, and the counts reconcile across the change.
 */
describe('envelope formats during an upgrade', () => {
  const rig = tappedExchange('ef', ['envelope_format', 3]);

  const layoutOf = (m: Tapped) => ({ format: m.headers[HEADERS.format], layout: m.headers[HEADERS.layout] });

  it('sends format 3 while the setting asks for it, and format 4 (rows) once it is gone; the targets get every record either way', async () => {
    await insertItems(rig.x.src, validItems(40));
    await rig.x.ex.ok('run', '--once');
    const before = await rig.fullTap.drain();
    expect(before.length).toBeGreaterThan(0);
    for (const m of before) expect(layoutOf(m)).toEqual({ format: 2, layout: undefined });

    writeFileSync(rig.x.ex.config, readFileSync(rig.x.ex.config, 'utf8').replace(/ {2}envelope_format: 3\n/, ''));
    await insertItems(rig.x.src, validItems(40, 40));
    await rig.x.ex.ok('run', '--once');
    const after = await rig.fullTap.drain();
    expect(after.length).toBeGreaterThan(0);
    for (const m of after) expect(layoutOf(m)).toEqual({ format: 4, layout: 'rows' });
    // the rows carry what the objects did: every indicator the target maps, for each record
    expect(after.flatMap((m) => m.body.records.map((r) => r.key)).sort()).toEqual(validItems(40, 40).map((i) => i.code).sort());
    expect(Object.keys(after[0].body.records[0].data).sort()).toEqual(Object.keys(before[0].body.records[0].data).sort());

    const source = await snapshot(rig.x.src, 'src_item');
    const target = await snapshot(rig.x.full, 't_full');
    expect(target.size).toBe(80);
    for (const [code, row] of source) expect(target.get(code)).toMatchObject({ title: row.title, amount: row.amount, qty: row.qty });
    const status = JSON.parse(await rig.x.ex.ok('status', '--format', 'json')) as { target: string; reconciled: string }[];
    for (const r of status) expect(r.reconciled).toMatch(/^yes/);
  }, 120_000);

  it('refuses a format other than 3 or 4 with the place and the choices', async () => {
    const text = readFileSync(rig.x.ex.config, 'utf8');
    try {
      writeFileSync(rig.x.ex.config, text.replace(/(  url: amqp[^\n]*\n)/, '$1  envelope_format: 5\n'));
      const r = await rig.x.ex.dxg('validate');
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/exchange\.yaml:4:20: broker\.envelope_format: must be one of: 3, 4/);
    } finally {
      writeFileSync(rig.x.ex.config, text);
    }
  });
});

/**
 * A batch whose JSON would pass half of `message_max_bytes` (what a target inflates at most, with room)
 * goes out in parts, each under it: long Chinese titles count three bytes a character.
 */
describe('a batch larger than a message may be', () => {
  const rig = tappedExchange('es', ['message_max_bytes', 65536],
    (yaml) => yaml.replace('  batch_size: 40\n', '  batch_size: 200\n').replace('  page_size: 97\n', '  page_size: 500\n'));

  it('is split into messages each within half the limit, and every record arrives', async () => {
    const items = validItems(300).map((i) => ({ ...i, title: `${'长'.repeat(90)}${i.code}` }));
    await insertItems(rig.x.src, items);
    await rig.x.ex.ok('run', '--once');
    const sent = await rig.fullTap.drain();
    const sizes = sent.map((m) => (m.contentEncoding === 'gzip' ? gunzipSync(m.raw) : m.raw).length);
    // 300 records of some 330 bytes: two pages of at most 200 make at least four messages of at most 32,768 bytes
    expect(sent.length).toBeGreaterThanOrEqual(4);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(32768);
    expect(sent.flatMap((m) => m.body.records.map((r) => r.key)).sort()).toEqual(items.map((i) => i.code).sort());
    expect((await snapshot(rig.x.full, 't_full')).size).toBe(300);
  }, 120_000);
});

