import type { ChangeSource } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { loadProject } from '../../gateway/config/project';
import { Runtime } from '../../gateway/node/runtime';
import { waitFor } from '../helpers/broker';
import { createTestDatabase, createPostgres, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';

/** People with a soft-delete flag: the source of the change-capture tests. */
const PERSON_SET = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    district: { type: 'string' },
    removed: { type: 'boolean' },
    updated_at: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'name', 'updated_at'],
};

const flow = (extra = '') => `flow: people
resource: test.person
source:
  department: src
  table: person
  key: [id]
  watermark: updated_at
  soft_delete: removed
  page_size: 40
  fields: { id: id, name: name, district: district, removed: removed, updated_at: updated_at }
${extra}targets:
  - department: mirror
    table: person_copy
    fields: { id: id, name: name, district: district }
  - department: flags
    table: person_flagged
    on_delete: flag
    fields: { id: id, name: name, removed: is_removed }
    where: { district: "东城" }
`;

async function createSource(db: TestDatabase): Promise<void> {
  if (db.driver === 'postgres') {
    await db.run('CREATE TABLE person (id integer PRIMARY KEY, name text NOT NULL, district text, removed boolean NOT NULL DEFAULT false, updated_at timestamp(6) NOT NULL)');
    await db.run('CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$');
    await db.run('CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON person FOR EACH ROW EXECUTE FUNCTION touch()');
  } else {
    await db.run(`CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, district VARCHAR(20), removed TINYINT(1) NOT NULL DEFAULT 0,
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), INDEX (updated_at, id))`);
  }
}

async function createTargets(mirror: TestDatabase, flags: TestDatabase): Promise<void> {
  await mirror.run('CREATE TABLE person_copy (id integer PRIMARY KEY, name text, district text)');
  await flags.run('CREATE TABLE person_flagged (id integer PRIMARY KEY, name text, is_removed boolean)');
}

const ids = async (db: TestDatabase, table: string) => (await db.query<{ id: number }>(sql`SELECT id FROM ${sql.id(table)} ORDER BY id`)).map((r) => Number(r.id));

/** Waits until the source's horizon has passed person `id`'s last write, as the horizon a walk starting now is bounded by. */
async function belowHorizon(db: TestDatabase, id: number): Promise<void> {
  const table = (await db.db.catalog.describeTable('person'))!;
  const source: ChangeSource = { table: 'person', columns: [...table.columns.keys()], key: ['id'], watermark: 'updated_at' };
  await waitFor(`person ${id}'s last write to fall below the horizon`, async () => {
    const horizon = await db.db.changes.horizon(source, table.columns.get('updated_at')!);
    return (await db.query(sql`SELECT id FROM person WHERE id = ${id} AND updated_at < ${horizon}`)).length > 0;
  });
}

describe.each<['postgres' | 'mysql']>([['postgres'], ['mysql']])('change capture from %s', (driver) => {
  let src: TestDatabase;
  let mirror: TestDatabase;
  let flags: TestDatabase;
  let ex: TestExchange;

  beforeAll(async () => {
    src = await createTestDatabase(driver, 'csrc');
    [mirror, flags] = await Promise.all([createPostgres('cmir'), createPostgres('cflg')]);
    await createSource(src);
    await createTargets(mirror, flags);
    ex = new TestExchange(
      { src: { driver, url: src.url }, mirror: { driver: 'postgres', url: mirror.url }, flags: { driver: 'postgres', url: flags.url } },
      { people: flow() },
      { 'test.person': PERSON_SET },
    );
    await ex.setUp();
  });

  afterAll(async () => {
    await ex?.destroy();
    await Promise.all([src, mirror, flags].map((d) => d?.drop()));
  });

  it('does not miss a row written by a transaction that began before a poll and commits after it', async () => {
    // 250 rows in one transaction share one watermark: more than six pages of 40
    const rows = Array.from({ length: 250 }, (_, i) => sql.list([i + 1, `居民${i + 1}`, i % 2 ? '东城' : '西城']));
    await src.execute(sql`INSERT INTO person (id, name, district) VALUES ${sql.join(rows)}`);

    await src.db.transaction(async (late) => {
      await late.execute(sql`INSERT INTO person (id, name, district) VALUES (1000, '迟到的人', '东城')`); // stamped now, committed later
      await src.execute(sql`INSERT INTO person (id, name, district) VALUES (1001, '准时的人', '东城')`); // stamped later, committed at once
      const held = await ex.ok('run', '--once', '--wait', '1');
      expect(await ids(mirror, 'person_copy')).not.toContain(1001); // held back: an older transaction is still open
      expect(held).toMatch(/people: \d+ row\(s\) stamped before this run wait for a transaction still open in the source database/);
    });
    await ex.ok('run', '--once');
    const mirrored = await ids(mirror, 'person_copy');
    expect(mirrored).toHaveLength(252);
    expect(mirrored).toEqual(expect.arrayContaining([1000, 1001]));
  });

  it('sends a soft-deleted record as a delete, or sets the flag of a target that flags', async () => {
    await src.execute(sql`UPDATE person SET removed = ${true} WHERE id IN (1, 2, 1000)`);
    await ex.ok('run', '--once');
    const mirrored = await ids(mirror, 'person_copy');
    expect(mirrored).not.toEqual(expect.arrayContaining([1]));
    expect(mirrored.filter((i) => [1, 2, 1000].includes(i))).toEqual([]);
    // flags sees only 东城 (even ids are 西城); its rows stay, flagged
    const flagged = await flags.query<{ id: number; is_removed: boolean }>(sql`SELECT id, is_removed FROM person_flagged WHERE id IN (1, 2, 1000) ORDER BY id`);
    expect(flagged).toEqual([{ id: 2, is_removed: true }, { id: 1000, is_removed: true }]);
    const deleted = await mirror.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_versions WHERE flow = 'people' AND deleted`);
    expect(Number(deleted[0].n)).toBe(3);
  });

  it('finds hard deletes by key reconciliation, deletes them at the targets, and audits them', async () => {
    await src.execute(sql`DELETE FROM person WHERE id IN ${sql.list([10, 11, 1001])}`);
    const out = await ex.ok('run', '--once', '--reconcile');
    expect(out).toMatch(/withdrawn by reconciliation/);
    const mirrored = await ids(mirror, 'person_copy');
    for (const gone of [10, 11, 1001]) expect(mirrored).not.toContain(gone);
    expect(mirrored).toHaveLength(252 - 3 - 3);
    const flagged = await flags.query<{ id: number; is_removed: boolean }>(sql`SELECT id, is_removed FROM person_flagged WHERE id IN (10, 11, 1001) ORDER BY id`);
    expect(flagged).toEqual([{ id: 10, is_removed: true }, { id: 1001, is_removed: true }]); // 11 is 西城: never sent there
    const entries = await mirror.query<{ record_count: number; record_keys: string }>(sql`SELECT record_count, record_keys FROM dxg_ledger WHERE kind = 'delete'`);
    expect(entries).toHaveLength(1);
    expect(entries[0].record_keys.split('\n').sort()).toEqual(['10', '1001', '11']);
    // a second reconciliation finds nothing more
    await ex.ok('run', '--once', '--reconcile');
    expect(await mirror.query(sql`SELECT seq FROM dxg_ledger WHERE kind = 'delete'`)).toHaveLength(1);
  });

  it('keeps the fields a soft delete changes at a flag target, when a reconciliation ran before the soft delete was sent', async () => {
    const { project } = loadProject(ex.config);
    const runtime = await Runtime.start(project!, { departments: ['src', 'mirror', 'flags'] });
    try {
      await src.execute(sql`UPDATE person SET removed = ${true}, name = '迁出的居民' WHERE id = 4`);
      await belowHorizon(src, 4); // the walk's bound is newer than the soft delete
      // the walk runs before any cycle has sent the soft delete (as when a long cycle is still busy)
      const receipts = runtime.collectReceipts();
      const { closing } = await runtime.nodes.get('src')!.reconcilers.get('people')!.run(runtime.signal);
      expect(await receipts.wait(closing, 30_000)).toEqual([]);
      receipts.stop();
      await runtime.runOnce({ flows: ['people'], timeoutMs: 30_000 });
    } finally {
      await runtime.stop();
    }
    const row = await flags.query<{ name: string; is_removed: boolean }>(sql`SELECT name, is_removed FROM person_flagged WHERE id = 4`);
    expect(row).toEqual([{ name: '迁出的居民', is_removed: true }]);
    expect(await ids(mirror, 'person_copy')).not.toContain(4);
  });

  it('re-sends the whole table on --full, resuming an interrupted resync from its last page', async () => {
    const { project } = loadProject(ex.config);
    const runtime = await Runtime.start(project!, { departments: ['src', 'mirror', 'flags'] });
    let pages = 0;
    const controller = new AbortController();
    try {
      const extractor = runtime.nodes.get('src')!.extractors.get('people')!;
      await extractor.cycle({ full: true, signal: controller.signal, onPage: () => { if (++pages === 2) controller.abort(); } });
    } finally {
      await runtime.stop();
    }
    const saved = await src.query<{ flow: string }>(sql`SELECT flow FROM dxg_checkpoint WHERE flow = 'people#full'`);
    expect(saved).toHaveLength(1);
    const before = await mirror.query(sql`SELECT * FROM person_copy ORDER BY id`);
    const committed = (await src.query<{ detail: string; record_count: number }>(sql`SELECT detail, record_count FROM dxg_ledger WHERE kind = 'extract'`))
      .filter((e) => JSON.parse(e.detail).full).reduce((n, e) => n + Number(e.record_count), 0);
    expect(committed).toBeGreaterThanOrEqual(80); // at least the pages before the interruption
    const out = await ex.ok('run', '--once', '--full');
    const extracted = Number(/people \(full\)\s*│\s*src → mirror\s*│\s*(\d+)/.exec(out)![1]);
    const rows = (await src.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM person`))[0].n;
    expect(extracted).toBe(Number(rows) - committed); // resumed after the pages committed before the interruption, not from zero
    expect(await src.query(sql`SELECT flow FROM dxg_checkpoint WHERE flow = 'people#full'`)).toEqual([]);
    expect(await mirror.query(sql`SELECT * FROM person_copy ORDER BY id`)).toEqual(before);
  });
});

describe('watermarks that cannot be read safely', () => {
  it('refuses a flow whose watermark column is an integer, naming the YAML place', async () => {
    const db = await createPostgres('intwm');
    const target = await createPostgres('intwmt');
    await db.run('CREATE TABLE person (id integer PRIMARY KEY, name text NOT NULL, district text, removed boolean, updated_at bigint NOT NULL)');
    await createTargets(target, target);
    const set = { ...PERSON_SET, properties: { ...PERSON_SET.properties, updated_at: { type: 'integer' } } };
    const ex = new TestExchange(
      { src: { driver: 'postgres', url: db.url }, mirror: { driver: 'postgres', url: target.url }, flags: { driver: 'postgres', url: target.url } },
      { people: flow() }, { 'test.person': set });
    try {
      await ex.ok('keys', 'generate');
      const r = await ex.dxg('init');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/flows\/people\.yaml:10:\d+: watermark column 'updated_at' \(bigint\) cannot be read safely on postgres/);
    } finally {
      await ex.destroy();
      await db.drop();
      await target.drop();
    }
  });
});
