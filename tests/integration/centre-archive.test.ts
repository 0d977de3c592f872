import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '../../adapters/sql';
import { waitFor } from '../helpers/broker';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { everySecond, insertItems, itemExchange, validItems, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';

/**
 * The centre archives collected entries older than `centre.archive.after` into signed files and
 * removes them from its database; `dxg audit verify --archive` checks the files offline and finds one
 * changed afterwards. Entries collected later continue the chain from where the archive left it.
 * A lag bound of a millisecond raises a lag alarm for every flow target.
 */
describe('centre archives', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;

  beforeAll(async () => {
    x = await itemExchange('ca', { flow: everySecond });
    centreDb = await createTestDatabase('postgres', 'cacentre');
    // every apply takes longer than a millisecond: a lag alarm for each flow target
    x.ex.addCentre({ databaseUrl: centreDb.url, port: await freePort(), archiveAfter: '2s', lagOver: '1ms' });
    await x.ex.setUp();
  });

  afterAll(async () => {
    await x?.destroy();
    await centreDb?.drop();
  });

  it('writes signed archive files that verify offline, and finds one changed', async () => {
    const centre = x.ex.centre();
    const nodes = x.ex.up();
    const dir = join(x.ex.dir, 'archive');
    try {
      await insertItems(x.src, validItems(20));
      await waitFor('the items applied', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n === '20', 60_000);
      const lagged = await waitFor('lag alarms', async () => {
        const alarms = await centreDb.query<{ kind: string; flow: string; department: string; reason: string }>(sql`SELECT kind, flow, department, reason FROM centre_alarms WHERE kind = 'lag' AND cleared_at IS NULL`);
        return alarms.length === 2 && alarms;
      }, 60_000);
      expect(lagged.map((a) => a.department).sort()).toEqual(['full', 'part']);
      expect(lagged[0].reason).toMatch(/p95 lag \d+\.\d s is over 0\.001 s/);
      const [head] = await x.src.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`);
      // every entry of src up to its head leaves the centre's database for a file
      await waitFor('src archived to its head', async () => {
        const [a] = await centreDb.query<{ to: string | null }>(sql`SELECT max(to_seq) AS to FROM centre_archives WHERE department = 'src'`);
        return a?.to !== null && a?.to !== undefined && BigInt(a.to) >= BigInt(head.seq);
      }, 60_000);
      const [left] = await centreDb.query<{ n: string }>(sql`SELECT count(*) AS n FROM centre_ledger WHERE department = 'src' AND seq <= ${head.seq}`);
      expect(Number(left.n)).toBe(0);

      // the exchange goes on; the copy continues the chain after the archived part
      await insertItems(x.src, validItems(5, 500));
      await waitFor('more items applied', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n === '25', 60_000);
      await waitFor('the new entries collected and checked', async () => {
        const [now] = await x.src.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`);
        const [c] = await centreDb.query<{ contiguous: string; broken_seq: string | null }>(sql`SELECT contiguous, broken_seq FROM centre_departments WHERE department = 'src'`);
        return c.broken_seq === null && String(c.contiguous) === String(now.seq);
      }, 60_000);
    } finally {
      await nodes.stop();
      await centre.stop();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const ok = await x.ex.dxg('audit', 'verify', '--archive', ...files);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(files.length);
    expect(ok.stdout).toMatch(/src, entries 1\.\.\d+: \d+ entries, signed by the centre, chain and signatures intact/);

    const src = files.find((f) => f.includes('-src-'))!;
    const lines = readFileSync(src, 'utf8').split('\n');
    lines[1] = lines[1].replace(/"record_count":(\d+)/, (_m, n: string) => `"record_count":${Number(n) + 1}`);
    writeFileSync(src, lines.join('\n'));
    const bad = await x.ex.dxg('audit', 'verify', '--archive', src);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('BROKEN (src, entries 1..');
    expect(bad.stdout).toContain('the file was changed after the centre signed it');
  });

  it('finds a ledger cut short where it lives by the heads it countersigned', async () => {
    const [signed] = await centreDb.query<{ seq: string }>(sql`SELECT max(seq) AS seq FROM centre_heads WHERE department = 'src'`);
    expect(signed.seq).not.toBeNull();
    const keep = String(BigInt(signed.seq) - 1n);
    const [kept] = await x.src.query<{ hash: string }>(sql`SELECT hash FROM dxg_ledger WHERE seq = ${keep}`);
    await x.src.execute(sql`DELETE FROM dxg_ledger WHERE seq > ${keep}`);
    await x.src.execute(sql`UPDATE dxg_ledger_head SET seq = ${keep}, hash = ${kept.hash} WHERE id = 1`);
    const centre = x.ex.centre();
    const nodes = x.ex.up();
    try {
      const alarm = await waitFor('a ledger-break alarm', async () => {
        const [a] = await centreDb.query<{ reason: string }>(sql`SELECT reason FROM centre_alarms WHERE kind = 'ledger-break' AND department = 'src'`);
        return a;
      }, 60_000);
      expect(alarm.reason).toContain(`it ends at entry ${keep}, but the centre countersigned entry`);
    } finally {
      await nodes.stop();
      await centre.stop();
    }
  });
});
