import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '../../adapters/sql';
import { GENESIS, SCHEMA_VERSION } from '../../gateway/bookkeeping/schema';
import { createPostgres, createTestDatabase, type Driver, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

/** Builds the dxg_ tables exactly as the first release's `dxg init` left them (its DDL, dumped from the engine). */
async function buildVersion1(db: TestDatabase): Promise<void> {
  const dump = readFileSync(join(__dirname, '..', 'fixtures', 'bookkeeping-v1', `${db.driver}.sql`), 'utf8');
  const statements = dump.split(/;\s*\n/).map((s) => s.replace(/^--.*\n/gm, '').trim()).filter(Boolean);
  for (const statement of statements) await db.run(statement);
}

const version = async (db: TestDatabase) => Number((await db.query<{ version: number }>(sql`SELECT version FROM dxg_schema WHERE id = 1`))[0]?.version);

describe.each<Driver>(['postgres', 'mysql'])('bookkeeping written by the first release, on %s', (driver) => {
  const dbs: TestDatabase[] = [];
  let ex: TestExchange;
  let src: TestDatabase;
  let full: TestDatabase;

  beforeAll(async () => {
    [src, full] = await Promise.all([createTestDatabase(driver, 'bk1src'), createTestDatabase(driver, 'bk1full')]);
    const part = await createPostgres('bk1part');
    dbs.push(src, full, part);
    for (const db of [src, full]) {
      await buildVersion1(db);
      await db.execute(sql`INSERT INTO dxg_ledger_head (id, seq, hash) VALUES (1, 0, ${GENESIS})`);
    }
    // what years of running leave behind: a record set aside with its reason, a message applied
    await src.execute(sql`INSERT INTO dxg_quarantine (at, stage, flow, record_key, version, reason, record, status)
      VALUES ('2025-01-02T03:04:05.000Z', 'source', 'items', 'OLD001', 1, 'kept from the first release', '{"code":"OLD001"}', 'open')`);
    await full.execute(sql`INSERT INTO dxg_inbox (message_id, flow, from_dept, applied_at) VALUES ('applied-long-ago', 'items', 'src', '2025-01-02T03:04:05.000Z')`);
    await createSource(src);
    await createTargets(full, part);
    ex = new TestExchange(
      { src: { driver, url: src.url }, full: { driver, url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: itemFlow('src', 'full', 'part') }, { 'test.item': ITEM_SET });
    await ex.ok('keys', 'generate');
  });

  afterAll(async () => {
    await ex?.destroy();
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('is refused by a node until dxg init has upgraded it', async () => {
    // the first release's nodes had no broker users either: the node says what to run first
    const r = await ex.dxg('run', '--once');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no broker password for department '(src|full|part)': set departments\.\w+\.broker_password, or run dxg init/);
  });

  it('is upgraded in place by dxg init, keeps what it held, and the exchange goes on', async () => {
    const out = await ex.ok('init');
    expect(out).toMatch(new RegExp(`src.*schema upgraded from version 1 to ${SCHEMA_VERSION}`));
    expect(out).toMatch(new RegExp(`full.*schema upgraded from version 1 to ${SCHEMA_VERSION}`));
    expect(await version(src)).toBe(SCHEMA_VERSION);
    expect(await version(full)).toBe(SCHEMA_VERSION);
    expect(await full.query(sql`SELECT message_id FROM dxg_inbox`)).toEqual([{ message_id: 'applied-long-ago' }]);
    expect(await ex.ok('quarantine')).toContain('kept from the first release');

    await insertItems(src, validItems(3));
    await ex.ok('run', '--once');
    expect([...(await snapshot(full, 't_full')).keys()].sort()).toEqual(['AB0000', 'AB0001', 'AB0002']);
    expect(await ex.ok('audit', 'verify')).not.toMatch(/broken|missing/i);

    // a second init finds nothing to upgrade
    expect(await ex.ok('init')).not.toMatch(/upgraded/);
  });

  it('is never touched by a dxg older than it', async () => {
    await src.execute(sql`UPDATE dxg_schema SET version = ${SCHEMA_VERSION + 1} WHERE id = 1`);
    try {
      const init = await ex.dxg('init');
      expect(init.code).toBe(1);
      expect(init.stdout + init.stderr).toContain(`schema version ${SCHEMA_VERSION + 1}, newer than this dxg knows (${SCHEMA_VERSION})`);
      expect(await version(src)).toBe(SCHEMA_VERSION + 1);
      const run = await ex.dxg('run', '--once');
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('newer than this dxg knows');
    } finally {
      await src.execute(sql`UPDATE dxg_schema SET version = ${SCHEMA_VERSION} WHERE id = 1`);
    }
  });

  it('is refused by a node one version behind, and upgraded from there', async () => {
    await src.execute(sql`UPDATE dxg_schema SET version = 2 WHERE id = 1`);
    const run = await ex.dxg('run', '--once');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`department src: the gateway's tables are at schema version 2, this dxg needs ${SCHEMA_VERSION} (run: dxg init, which upgrades them in place)`);
    expect(await ex.ok('init')).toMatch(new RegExp(`src.*schema upgraded from version 2 to ${SCHEMA_VERSION}`));
    await ex.ok('run', '--once');
  });
});
