import { connect } from '../../adapters';
import type { ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TargetTable } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { claimInbox } from '../../gateway/bookkeeping/inbox';
import { pendingOutbox, putOutbox } from '../../gateway/bookkeeping/outbox';
import { putQuarantine } from '../../gateway/bookkeeping/quarantine';
import { createBookkeeping, GENESIS, SCHEMA_VERSION } from '../../gateway/bookkeeping/schema';
import type { TargetBinding } from '../../gateway/flow/binding';
import { purgeFlow } from '../../gateway/flow/purge';
import { applyDeletes, type DeleteRecord } from '../../gateway/flow/deletes';
import { toWire, versionOf, type Kind } from '../../gateway/indicators/codec';
import { createTestDatabase, ENGINES, type Driver, type TestDatabase } from '../helpers/databases';
import { CATALOG_QUERY, FIXTURES, ODD, ODD_ALIASES, ReadsAs, SameInstant, type Sample } from './engines';

/**
 * What every adapter promises, one case list run on every engine (engine differences are data, in
 * engines.ts). PostgreSQL and MariaDB run here always; SQL Server where DXG_TEST_MSSQL_URL names a
 * server (a login that may create databases and has VIEW SERVER STATE), e.g.
 * DXG_TEST_MSSQL_URL=mssql://sa:Password@127.0.0.1:1433/master?encrypt=false
 */
const ALL: Driver[] = ['postgres', 'mysql', 'mssql'];
const SKIPPED = ALL.filter((d) => !ENGINES.includes(d));
// past Jest's console, which shows nothing of skipped tests when several files run
if (SKIPPED.includes('mssql')) {
  process.stderr.write('\nSQL Server conformance cases skipped: set DXG_TEST_MSSQL_URL=mssql://user:pass@host:1433/master?encrypt=false to run them\n\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then((value) => ({ value }), (err: unknown) => ({ err }));
  if ('value' in outcome) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.err as Error;
}

/** Probes until `done` holds or `ms` have passed; returns the last result. */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > until) return value;
    await sleep(200);
  }
}

const OFFSET = /(?:Z|[+-]\d{2}:\d{2})$/;

/** A sample as the test compares it: what the codec must make of the value read back. */
function expected(sample: Sample): unknown {
  if (sample instanceof SameInstant) return { instant: versionOf('datetime', sample.write).toString(), offset: sample.withOffset };
  if (sample instanceof ReadsAs) return sample.read;
  return sample;
}

/** Kinds the adapters hand over already in their canonical shape (exact strings); others go through the codec, as extraction does (MySQL's TINYINT(1) 1 → true, int8 text → a number where it is safe). */
const CANONICAL: ReadonlySet<Kind> = new Set<Kind>(['string', 'decimal', 'date', 'datetime']);

function actual(sample: Sample, kind: Kind, read: unknown): unknown {
  const wire = CANONICAL.has(kind) ? read : toWire(kind, read);
  if (sample instanceof SameInstant) return { instant: wire === null ? null : versionOf('datetime', wire).toString(), offset: OFFSET.test(String(wire)) };
  return wire;
}

/** 250 rows of src: 120 share one watermark value (a bulk update), the rest have one each; inserted out of order. */
const TIE = '2024-03-01T10:00:00.000001';
const SRC = Array.from({ length: 250 }, (_, i) => {
  const id = ((i * 97) % 250) + 1;
  // fractions end in a non-zero digit: PostgreSQL prints them without trailing zeros
  const at = id <= 120 ? TIE : `2024-03-01T10:00:${String(id % 60).padStart(2, '0')}.${String(id).padStart(5, '0')}1`;
  return { id, updated_at: at, name: `企业${id} '?'`, capital: `${id}000.50` };
});

const TAGGED = [
  { id: 1, updated_at: '2024-04-01T00:00:00.000001', name: 'a?', tags: '["x"]' },
  { id: 2, updated_at: '2024-04-01T00:00:00.000002', name: '?', tags: '["y"]' },
  { id: 3, updated_at: '2024-04-01T00:00:00.000003', name: 'c', tags: '["x", "z"]' },
  { id: 4, updated_at: '2024-04-01T00:00:00.000004', name: 'd', tags: '[]' },
];

const written = (sample: Sample): unknown => (sample instanceof SameInstant || sample instanceof ReadsAs ? sample.write : sample);

function conformance(driver: Driver): void {
  const fx = FIXTURES[driver];
  let t: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    t = await createTestDatabase(driver, 'conf');
    db = t.db;
    await createBookkeeping(db);
    const ddl = [fx.catalog.ddl, fx.src, fx.tagged, fx.live.ddl, fx.readOnly?.ddl ?? [], fx.targets, fx.values.ddl, fx.odd.ddl];
    for (const statement of ddl.flat()) await t.run(statement);
    await t.execute(sql`INSERT INTO src (id, updated_at, name, capital) VALUES ${sql.join(SRC.map((r) => sql.list([r.id, r.updated_at.replace('T', ' '), r.name, r.capital])))}`);
    await t.execute(sql`INSERT INTO tagged (id, updated_at, name, tags) VALUES ${sql.join(TAGGED.map((r) => sql.list([r.id, r.updated_at.replace('T', ' '), r.name, r.tags])))}`);
  });

  afterAll(async () => {
    await t?.drop();
  });

  const columnsOf = async (table: string): Promise<Map<string, ColumnInfo>> => {
    const info = await db.catalog.describeTable(table);
    if (!info) throw new Error(`no table ${table}`);
    return info.columns;
  };
  /** A target as bindTarget makes it: the catalog's types, the indicators' kinds. */
  const targetOf = async (table: string, flow: string, kinds: Record<string, Kind>, keyColumns: string[], mode: 'upsert' | 'insert' = 'upsert'): Promise<TargetTable> => {
    const columns = await columnsOf(table);
    return { flow, table, mode, keyColumns, columns: Object.entries(kinds).map(([name, kind]) => ({ name, kind, type: columns.get(name)!.type })) };
  };
  const apply = (target: TargetTable, records: ApplyRecord[]) => db.transaction((tx) => tx.apply(target, records));
  /** Every row of a table in key order, read the way the adapter reads sources (exact values). */
  const rowsOf = async (table: string, key: string[], columns: string[]): Promise<Row[]> =>
    db.changes.scanKeys({ table, columns, key, watermark: key[0] }, columns, null, 100_000);
  const versionRow = async (flow: string, key: string) => {
    const rows = await db.query<{ version: unknown; deleted: unknown }>(sql`SELECT version, deleted FROM dxg_versions WHERE flow = ${flow} AND record_key = ${key}`);
    return rows.map((r) => ({ version: String(r.version), deleted: toWire('boolean', r.deleted) }));
  };

  /** Reads every row below the horizon after `from`, page by page, the way extraction does. */
  async function readAll(source: ChangeSource, from: Position | null, pageSize: number, upTo: unknown): Promise<Row[]> {
    const all: Row[] = [];
    let after = from;
    for (;;) {
      const page = await db.changes.read(source, after, upTo, pageSize);
      all.push(...page);
      if (page.length < pageSize) return all;
      const last = page[page.length - 1];
      after = { watermark: last[source.watermark], key: source.key.map((k) => last[k]) };
    }
  }

  describe('catalog', () => {
    it('describes columns with their own types and nullability, and the primary and unique keys (not prefix, expression or filtered indexes)', async () => {
      const info = await db.catalog.describeTable('ent_registry');
      expect(info?.name).toBe('ent_registry');
      expect([...info!.columns.values()].map((c) => ({ ...c, zoned: c.zoned ?? false }))).toEqual(fx.catalog.columns);
      expect([...info!.columns.keys()]).toEqual(fx.catalog.columns.map((c) => c.name));
      expect(info!.uniqueKeys).toEqual([['region', 'credit_code'], ['ent_name']]);
    });

    it('finds a table by its name or schema-qualified, and null for a table that is not there', async () => {
      const found: [string, number | null][] = [];
      for (const [name] of fx.catalog.lookups(t.name)) found.push([name, (await db.catalog.describeTable(name))?.columns.size ?? null]);
      expect(found).toEqual(fx.catalog.lookups(t.name));
    });

    it('names the tables of its own schema, for a misspelt one to be likened to', async () => {
      const names = await db.catalog.tableNames();
      expect(names).toContain('ent_registry');
      expect(names.every((n) => !n.includes('.'))).toBe(true);
    });

    it('describes a query by its result columns, and rejects a bad query with the engine\'s message', async () => {
      const columns = await db.catalog.describeQuery(CATALOG_QUERY);
      expect(columns.map((c) => [c.name, c.type])).toEqual(fx.catalog.queryColumns);
      for (const [query, message] of fx.catalog.badQueries) expect((await failure(db.catalog.describeQuery(query))).message).toMatch(message);
    });
  });

  describe('keyset paging', () => {
    const source: ChangeSource = { table: 'src', columns: ['id', 'updated_at', 'name', 'capital'], key: ['id'], watermark: 'updated_at' };
    const expectedRows: Row[] = [...SRC].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id - b.id));
    let upTo: unknown;

    beforeAll(async () => {
      upTo = await db.changes.horizon(source, (await columnsOf('src')).get('updated_at')!);
    });

    it('pages through rows sharing one watermark in (watermark, key) order, each row exactly once', async () => {
      const rows = await readAll(source, null, 17, upTo);
      expect(rows).toEqual(expectedRows);
      expect(await db.changes.count(source, null, upTo)).toBe(250);
    });

    it('resumes after a saved position, given in ISO or in the server\'s form, and counts what it would read', async () => {
      const at = expectedRows[57]; // inside the block sharing one watermark
      const saved = JSON.parse(JSON.stringify({ watermark: at.updated_at, key: [at.id] })) as Position;
      expect(saved.watermark).toBe(TIE);
      expect(await readAll(source, saved, 40, upTo)).toEqual(expectedRows.slice(58));
      expect(await readAll(source, { watermark: TIE.replace('T', ' '), key: [at.id] }, 40, upTo)).toEqual(expectedRows.slice(58));
      expect(await db.changes.count(source, saved, upTo)).toBe(250 - 58);
      // the horizon bounds the read: nothing at or past it
      const last = expectedRows[200];
      expect(await readAll(source, saved, 40, last.updated_at)).toEqual(expectedRows.slice(58, 200));
      expect(await db.changes.count(source, saved, last.updated_at)).toBe(200 - 58);
    });

    it('reads a query source the same way', async () => {
      const query: ChangeSource = { ...source, table: undefined, query: 'SELECT id, updated_at, name, capital FROM src WHERE id > 0' };
      expect(await readAll(query, null, 33, upTo)).toEqual(expectedRows);
      expect(await db.changes.count(query, null, upTo)).toBe(250);
    });

    it('scans keys in key order, page by page', async () => {
      const all: Row[] = [];
      let afterKey: unknown[] | null = null;
      for (;;) {
        const page = await db.changes.scanKeys(source, ['id', 'name'], afterKey, 30);
        all.push(...page);
        if (page.length < 30) break;
        afterKey = [page[page.length - 1].id];
      }
      expect(all).toEqual(Array.from({ length: 250 }, (_, i) => ({ id: i + 1, name: `企业${i + 1} '?'` })));
      expect((await db.changes.scanKeys(source, ['id'], [57], 3))).toEqual([{ id: 58 }, { id: 59 }, { id: 60 }]);
    });
  });

  describe('horizon', () => {
    it('stays below rows written while a transaction is open in another session, until it commits', async () => {
      const columns = await columnsOf('live');
      const watermarks = fx.live.watermarks.map((w) => ({
        ...w,
        info: columns.get(w.column)!,
        source: { table: 'live', columns: ['id', w.column], key: ['id'], watermark: w.column } as ChangeSource,
      }));
      const other = await connect({ driver, url: t.url, pool: 2 }, 'conformance, other session');
      let held: unknown[] = [];
      try {
        await other.transaction(async (tx) => {
          await tx.execute(sql`INSERT INTO live (id) VALUES (1)`);
          // committed at once, after the open transaction began
          await db.execute(sql`INSERT INTO live (id) VALUES (2)`);
          await sleep(db.changes.settleMs + 300); // past the settle interval: only the open transaction holds the horizon back now
          held = await Promise.all(watermarks.map((w) => db.changes.horizon(w.source, w.info)));
        });
      } finally {
        await other.close();
      }
      for (const [i, w] of watermarks.entries()) {
        // committed now: the horizons taken while it was open let neither row through
        expect([w.column, await db.changes.read(w.source, null, held[i], 10)]).toEqual([w.column, []]);
        // later horizons let both through, in watermark order
        const rows = await eventually(async () => db.changes.read(w.source, null, await db.changes.horizon(w.source, w.info), 10), (r) => r.length === 2, db.changes.settleMs + 8000);
        expect([w.column, rows.map((r) => r.id)]).toEqual([w.column, [1, 2]]);
        for (const r of rows) expect([w.column, versionOf(w.kind, held[i]) <= versionOf(w.kind, r[w.column])]).toEqual([w.column, true]);
        // and a read resuming after the first row, without a horizon, finds the second
        expect(await db.changes.read(w.source, { watermark: rows[0][w.column], key: [1] }, null, 10)).toEqual([rows[1]]);
      }
    });

    it('is cut to the watermark\'s type, never past the clock, and null for integer watermarks', async () => {
      const source: ChangeSource = { table: 'live', columns: ['id'], key: ['id'], watermark: 'id' };
      const shapes: [string, unknown, unknown][] = [];
      for (const [type] of fx.horizonShapes) {
        const column: ColumnInfo = { name: 'w', type, nullable: false };
        const horizon = await db.changes.horizon(source, column);
        const clock = await db.changes.clock(column);
        shapes.push([type, horizon, clock]);
        if (horizon !== null) expect([type, versionOf('datetime', horizon) <= versionOf('datetime', clock)]).toEqual([type, true]);
      }
      expect(shapes).toEqual(fx.horizonShapes.map(([type, shape]) => [type, shape ? expect.stringMatching(shape) : null, shape ? expect.stringMatching(shape) : null]));
    });
  });

  describe('read-only source reads', () => {
    const SNEAKY = 'SELECT id, updated_at, name, sneaky() AS s FROM src';
    // closes the derived table the adapter wraps a query in, ends the read-only transaction, and writes
    const SMUGGLED = 'SELECT id, updated_at, name FROM src) AS x; COMMIT; INSERT INTO audit_log VALUES (2); SELECT id, updated_at, name FROM (SELECT id, updated_at, name FROM src';
    const audit = async () => (await t.query<{ n: unknown }>(sql`SELECT count(*) AS n FROM audit_log`)).map((r) => Number(r.n));
    const readOnly = fx.readOnly;
    const withReadOnly = readOnly ? it : it.skip; // SQL Server has no read-only transaction (see engines.ts)

    withReadOnly('refuses a source query calling a function that writes, and nothing is written', async () => {
      const source: ChangeSource = { query: SNEAKY, columns: ['id', 'updated_at', 'name', 's'], key: ['id'], watermark: 'updated_at' };
      const upTo = '2100-01-01T00:00:00';
      const errors = [
        await failure(db.changes.read(source, null, upTo, 10)),
        await failure(db.changes.read(source, { watermark: '2000-01-01T00:00:00', key: [0] }, upTo, 10)),
        await failure(db.changes.count(source, null, upTo)),
        await failure(db.changes.scanKeys(source, ['id', 'name'], null, 10)),
      ];
      expect(errors.map((e) => e.message)).toEqual(errors.map(() => expect.stringMatching(readOnly!.error)));
      const described = await db.catalog.describeQuery(SNEAKY).then((cols) => cols.map((c) => c.name), (err: Error) => err.message);
      expect(described).toEqual(Array.isArray(readOnly!.describeQuery) ? readOnly!.describeQuery : expect.stringMatching(readOnly!.describeQuery));
      expect(await audit()).toEqual([0]);
    });

    withReadOnly('refuses a source query smuggling in a statement that writes, and nothing is written', async () => {
      const source: ChangeSource = { query: SMUGGLED, columns: ['id', 'updated_at', 'name'], key: ['id'], watermark: 'updated_at' };
      // without a position or horizon these reads bind no values at all
      const reads: [string, () => Promise<unknown>][] = [
        ['read', () => db.changes.read(source, null, null, 10)],
        ['count', () => db.changes.count(source, null, null)],
        ['scanKeys', () => db.changes.scanKeys(source, ['id'], null, 10)],
        ['describeQuery', () => db.catalog.describeQuery(SMUGGLED)],
      ];
      const outcomes: [string, string, number[]][] = [];
      for (const [name, read] of reads) outcomes.push([name, await read().then(() => 'ran', () => 'refused'), await audit()]);
      expect(outcomes).toEqual(reads.map(([name]) => [name, 'refused', [0]]));
    });
  });

  describe('a user query with ? in it', () => {
    const before: Position = { watermark: '2000-01-01T00:00:00', key: [0] };

    /** Described, read with a position and a horizon (so bound values sit beside the `?`), and counted. */
    async function readQuery(query: string, columns: string[]): Promise<{ rows: Row[]; count: number }> {
      const described = await db.catalog.describeQuery(query);
      expect(described.map((c) => c.name)).toEqual(columns);
      const source: ChangeSource = { query, columns, key: ['id'], watermark: 'updated_at' };
      const upTo = await db.changes.horizon(source, described.find((c) => c.name === 'updated_at')!);
      expect(upTo).not.toBeNull();
      return { rows: await readAll(source, before, 2, upTo), count: await db.changes.count(source, before, upTo) };
    }

    it('reads a query with ? and placeholder look-alikes in a string literal', async () => {
      const { rows, count } = await readQuery("SELECT id, updated_at, name, '? $1 @p1 :1' AS mark FROM tagged", ['id', 'updated_at', 'name', 'mark']);
      expect(rows).toEqual(TAGGED.map(({ id, updated_at, name }) => ({ id, updated_at, name, mark: '? $1 @p1 :1' })));
      expect(count).toBe(4);
    });

    it('reads queries with the engine\'s own ? syntax (operators, quoted names, patterns)', async () => {
      for (const q of fx.questionQueries) {
        const { rows, count } = await readQuery(q.query, q.columns);
        const [id, at, name] = q.columns;
        expect([q.query, rows]).toEqual([q.query, TAGGED.filter((r) => q.ids.includes(r.id)).map((r) => ({ [id]: r.id, [at]: r.updated_at, [name]: r.name }))]);
        expect(count).toBe(q.ids.length);
      }
    });
  });

  describe('apply', () => {
    let taxpayer: TargetTable;
    const record = (key: string, version: bigint, values: Row): ApplyRecord => ({ key, version, values: { nsrsbh: key, ...values } });
    const payers = async (keys: string[]) => (await rowsOf('tax_taxpayer', ['nsrsbh'], ['nsrsbh', 'nsrmc', 'zczb', 'gxsj'])).filter((r) => keys.includes(r.nsrsbh as string));

    beforeAll(async () => {
      taxpayer = await targetOf('tax_taxpayer', 'enterprise-basic', { nsrsbh: 'string', nsrmc: 'string', zczb: 'decimal', gxsj: 'datetime' }, ['nsrsbh']);
    });

    it('upserts: writes new rows, updates older versions, keeps newer ones (an older version is superseded)', async () => {
      expect(await apply(taxpayer, [
        record('A', 1n, { nsrmc: '第一版', zczb: '1.0000', gxsj: '2024-03-01T10:00:00.000001' }),
        record('B', 5n, { nsrmc: '第五版', zczb: '5.0000', gxsj: '2024-03-05T10:00:00.000005' }),
      ])).toEqual({ written: 2, superseded: [] });
      expect(await apply(taxpayer, [
        record('A', 2n, { nsrmc: '第二版', zczb: '2.0000', gxsj: '2024-03-02T10:00:00.000002' }),
        record('B', 3n, { nsrmc: '第三版', zczb: '3.0000', gxsj: '2024-03-03T10:00:00.000003' }),
      ])).toEqual({ written: 1, superseded: ['B'] });
      expect(await payers(['A', 'B'])).toEqual([
        { nsrsbh: 'A', nsrmc: '第二版', zczb: '2.0000', gxsj: '2024-03-02T10:00:00.000002' },
        { nsrsbh: 'B', nsrmc: '第五版', zczb: '5.0000', gxsj: '2024-03-05T10:00:00.000005' },
      ]);
      // the same version again (a redelivery) is written again, unchanged or not
      expect(await apply(taxpayer, [record('B', 5n, { nsrmc: '第五版重放', zczb: null, gxsj: null })])).toEqual({ written: 1, superseded: [] });
      expect(await payers(['B'])).toEqual([{ nsrsbh: 'B', nsrmc: '第五版重放', zczb: null, gxsj: null }]);
      expect(await versionRow(taxpayer.flow, 'A')).toEqual([{ version: '2', deleted: false }]);
      expect(await versionRow(taxpayer.flow, 'B')).toEqual([{ version: '5', deleted: false }]);
      // versions are per flow: another flow writing the same key is not superseded by this one's
      expect(await apply({ ...taxpayer, flow: 'other-flow' }, [record('B', 1n, { nsrmc: '别的流' })])).toEqual({ written: 1, superseded: [] });
    });

    it('loads COPY text lines inside a transaction and undoes them with it, where the engine can (the benchmark\'s text wire)', async () => {
      const columns = ['nsrsbh', 'nsrmc', 'zczb'];
      const written = await db.transaction(async (tx) => (tx.copyIn ? tx.copyIn('tax_taxpayer', columns, 'CP1\t复制\\t一\t1.5000\nCP2\t\\N\t\\N\n') : null));
      if (written === null) {
        expect(db.driver).not.toBe('postgres');
        return;
      }
      expect(written).toBe(2);
      expect((await payers(['CP1', 'CP2'])).map((r) => [r.nsrsbh, r.nsrmc, r.zczb])).toEqual([['CP1', '复制\t一', '1.5000'], ['CP2', null, null]]);
      await expect(db.transaction(async (tx) => {
        await tx.copyIn!('tax_taxpayer', columns, 'CP3\t撤回\t\\N\n');
        throw new Error('undone');
      })).rejects.toThrow('undone');
      expect(await payers(['CP3'])).toEqual([]);
    });

    it('appends each version once in insert mode', async () => {
      const log = await targetOf('tax_log', 'enterprise-log', { nsrsbh: 'string', nsrmc: 'string' }, ['nsrsbh'], 'insert');
      expect(await apply(log, [record('K1', 1n, { nsrmc: '一' }), record('K2', 1n, { nsrmc: '甲' })])).toEqual({ written: 2, superseded: [] });
      expect(await apply(log, [record('K1', 1n, { nsrmc: '一' })])).toEqual({ written: 0, superseded: ['K1'] });
      expect(await apply(log, [record('K1', 2n, { nsrmc: '二' }), record('K2', 1n, { nsrmc: '甲' })])).toEqual({ written: 1, superseded: ['K2'] });
      expect((await rowsOf('tax_log', ['id'], ['id', 'nsrsbh', 'nsrmc'])).map((r) => [r.nsrsbh, r.nsrmc])).toEqual([['K1', '一'], ['K2', '甲'], ['K1', '二']]);
    });

    it('claims a message id once across transactions, ids matched exactly', async () => {
      const claim = (id: string) => db.transaction((tx) => claimInbox(tx, id, 'f', 'amr', tx.sql.isUniqueViolation));
      expect(await claim('m-once')).toBe(true);
      expect(await claim('m-once')).toBe(false);
      // not case-blind: these are three messages
      expect([await claim('Abc'), await claim('abc'), await claim('ABC')]).toEqual([true, true, true]);
      expect(await t.query(sql`SELECT message_id FROM dxg_inbox WHERE message_id = ${'abc'}`)).toEqual([{ message_id: 'abc' }]);
    });

    it('leaves nothing of a transaction that throws, and runs afterCommit hooks only after a commit', async () => {
      const hooks: string[] = [];
      const boom = await failure(db.transaction(async (tx) => {
        tx.afterCommit(() => hooks.push('rolled back'));
        expect(await claimInbox(tx, 'm-thrown', 'f', 'amr', tx.sql.isUniqueViolation)).toBe(true);
        expect(await tx.apply(taxpayer, [record('T1', 1n, { nsrmc: '回滚' })])).toEqual({ written: 1, superseded: [] });
        throw new Error('boom');
      }));
      expect(boom.message).toBe('boom');
      expect(await payers(['T1'])).toEqual([]);
      expect(await versionRow(taxpayer.flow, 'T1')).toEqual([]);
      expect(await t.query(sql`SELECT message_id FROM dxg_inbox WHERE message_id = ${'m-thrown'}`)).toEqual([]);
      await db.transaction(async (tx) => {
        tx.afterCommit(() => hooks.push('committed'));
        await tx.apply(taxpayer, [record('T2', 1n, { nsrmc: '提交' })]);
        expect(hooks).toEqual([]);
      });
      expect(hooks).toEqual(['committed']);
      expect(await payers(['T2'])).toEqual([{ nsrsbh: 'T2', nsrmc: '提交', zczb: null, gxsj: null }]);
    });

    it('refuses values the columns cannot hold as data errors, and a savepoint undoes only its own work', async () => {
      const tooLong = record('F1', 1n, { nsrmc: '这个纳税人名称超过了二十个字符的列宽限制所以必须被拒绝' });
      const notNumber = record('F1', 1n, { zczb: '一千' });
      for (const bad of [tooLong, notNumber]) expect(db.sql.isDataError(await failure(apply(taxpayer, [bad])))).toBe(true);

      await db.transaction(async (tx) => {
        await tx.apply(taxpayer, [record('G1', 1n, { nsrmc: '好' })]);
        for (const bad of [tooLong, notNumber]) {
          const inner = await failure(tx.savepoint(() => tx.apply(taxpayer, [record('H1', 1n, { nsrmc: '也好' }), bad])));
          expect(tx.sql.isDataError(inner)).toBe(true);
          expect(tx.sql.isConflict(inner)).toBe(false);
        }
        expect(await tx.savepoint(() => tx.apply(taxpayer, [record('H1', 1n, { nsrmc: '也好' })]))).toEqual({ written: 1, superseded: [] });
      });
      expect((await payers(['F1', 'G1', 'H1'])).map((r) => [r.nsrsbh, r.nsrmc])).toEqual([['G1', '好'], ['H1', '也好']]);
      expect(await versionRow(taxpayer.flow, 'F1')).toEqual([]);
      expect(db.sql.isDataError(new Error('connection lost'))).toBe(false);
    });

    it('takes a duplicate in a unique key for a data error and a unique violation, and a missing table for neither', async () => {
      const unique = await targetOf('tax_unique', 'unique-flow', { nsrsbh: 'string', nsrmc: 'string' }, ['nsrsbh'], 'insert');
      expect(await apply(unique, [record('U1', 1n, { nsrmc: '同名' })])).toEqual({ written: 1, superseded: [] });
      const duplicate = await failure(apply(unique, [record('U2', 1n, { nsrmc: '同名' })]));
      expect([db.sql.isDataError(duplicate), db.sql.isUniqueViolation(duplicate), db.sql.isConflict(duplicate)]).toEqual([true, true, false]);
      expect(await versionRow(unique.flow, 'U2')).toEqual([]);
      const missing = await failure(apply({ ...unique, table: 'no_such_table' }, [record('U3', 1n, { nsrmc: '无' })]));
      expect([db.sql.isDataError(missing), db.sql.isUniqueViolation(missing)]).toEqual([false, false]);
    });

    it('says truthfully whether its upsert fires on a clash with another unique key', async () => {
      expect(db.sql.upsertOnAnyUniqueKey).toBe(fx.upsertOnAnyUniqueKey);
      const unique = await targetOf('tax_unique', 'unique-upsert', { nsrsbh: 'string', nsrmc: 'string' }, ['nsrsbh']);
      expect(await apply(unique, [record('V1', 1n, { nsrmc: '重名' })])).toEqual({ written: 1, superseded: [] });
      const clash = await apply(unique, [record('V2', 1n, { nsrmc: '重名' })])
        .then(() => 'overwrote the other row', (err: unknown) => (db.sql.isUniqueViolation(err) && db.sql.isDataError(err) ? 'unique violation' : String(err)));
      expect(clash).toBe(fx.upsertOnAnyUniqueKey ? 'overwrote the other row' : 'unique violation');
      // either way V2 never lands (which is why bindTarget refuses such a target where the flag is set)
      expect((await rowsOf('tax_unique', ['nsrsbh'], ['nsrsbh', 'nsrmc'])).filter((r) => String(r.nsrsbh).startsWith('V'))).toEqual([{ nsrsbh: 'V1', nsrmc: '重名' }]);
    });

    it('takes a real deadlock, also inside a savepoint, for a conflict to run again', async () => {
      await t.execute(sql`INSERT INTO lock_pair (id, n) VALUES (1, 0), (2, 0)`);
      let arrived = 0;
      let bothIn: () => void = () => undefined;
      const met = new Promise<void>((resolve) => (bothIn = resolve));
      // each locks one row, then wants the other's: the server ends one of them
      const cross = (first: number, second: number) => db.transaction((tx) => tx.savepoint(async () => {
        await tx.execute(sql`UPDATE lock_pair SET n = n + 1 WHERE id = ${first}`);
        if (++arrived === 2) bothIn();
        await met;
        await tx.execute(sql`UPDATE lock_pair SET n = n + 1 WHERE id = ${second}`);
      }));
      const outcomes = await Promise.allSettled([cross(1, 2), cross(2, 1)]);
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect([db.sql.isConflict(failed[0].reason), db.sql.isDataError(failed[0].reason)]).toEqual([true, false]);
      // one transaction's two updates, nothing of the other's
      expect((await rowsOf('lock_pair', ['id'], ['id', 'n'])).map((r) => Number(r.n))).toEqual([1, 1]);
    });

    it('takes a lock wait that times out for a conflict to run again, not a data error', async () => {
      await t.execute(sql`INSERT INTO lock_pair (id, n) VALUES (3, 0)`);
      const waiter = await connect({ driver, url: t.url, pool: 1 }, 'conformance, waiting session');
      try {
        await waiter.execute(sql.raw(fx.lockTimeout));
        const timedOut = await db.transaction(async (tx) => {
          await tx.execute(sql`UPDATE lock_pair SET n = n + 10 WHERE id = ${3}`);
          return failure(waiter.transaction((w) => w.execute(sql`UPDATE lock_pair SET n = n + 100 WHERE id = ${3}`)));
        });
        expect([db.sql.isConflict(timedOut), db.sql.isDataError(timedOut)]).toEqual([true, false]);
      } finally {
        await waiter.close();
      }
      expect((await rowsOf('lock_pair', ['id'], ['id', 'n'])).filter((r) => r.id === 3).map((r) => Number(r.n))).toEqual([10]);
    });
  });

  describe('deletes', () => {
    let target: TargetTable;
    const binding = (table: TargetTable, flag?: TargetBinding['flag']): TargetBinding => ({ flow: { id: table.flow }, table, flag }) as unknown as TargetBinding;
    const del = (key: string, version: bigint): DeleteRecord => ({ key, version, keyValues: [key] });
    const applyDel = (b: TargetBinding, deletes: DeleteRecord[]) => db.transaction((tx) => applyDeletes(tx, b, deletes));
    const keys = async () => (await rowsOf('tax_taxpayer', ['nsrsbh'], ['nsrsbh'])).map((r) => r.nsrsbh).filter((k) => String(k).startsWith('D'));

    beforeAll(async () => {
      target = await targetOf('tax_taxpayer', 'deletes-flow', { nsrsbh: 'string', nsrmc: 'string' }, ['nsrsbh']);
      await apply(target, [
        { key: 'D1', version: 5n, values: { nsrsbh: 'D1', nsrmc: '五' } },
        { key: 'D2', version: 2n, values: { nsrsbh: 'D2', nsrmc: '二' } },
      ]);
    });

    it('supersedes a delete older than the version held, and removes a row held at an older version', async () => {
      expect(await applyDel(binding(target), [del('D1', 3n), del('D2', 4n)])).toEqual({ removed: 1, superseded: ['D1'] });
      expect(await keys()).toEqual(['D1']);
      expect(await versionRow(target.flow, 'D1')).toEqual([{ version: '5', deleted: false }]);
      expect(await versionRow(target.flow, 'D2')).toEqual([{ version: '4', deleted: true }]);
    });

    it('keeps a tombstone, so an older upsert cannot bring the row back (a newer one can)', async () => {
      expect(await apply(target, [{ key: 'D2', version: 3n, values: { nsrsbh: 'D2', nsrmc: '三' } }])).toEqual({ written: 0, superseded: ['D2'] });
      expect(await keys()).toEqual(['D1']);
      // a delete of a record never seen leaves a tombstone too
      expect(await applyDel(binding(target), [del('D3', 7n)])).toEqual({ removed: 0, superseded: [] });
      expect(await apply(target, [{ key: 'D3', version: 6n, values: { nsrsbh: 'D3', nsrmc: '六' } }])).toEqual({ written: 0, superseded: ['D3'] });
      expect(await keys()).toEqual(['D1']);
      expect(await apply(target, [{ key: 'D2', version: 6n, values: { nsrsbh: 'D2', nsrmc: '六' } }])).toEqual({ written: 1, superseded: [] });
      expect(await keys()).toEqual(['D1', 'D2']);
      expect(await versionRow(target.flow, 'D2')).toEqual([{ version: '6', deleted: false }]);
    });

    it('sets the soft-delete column of a target that flags, keeping the row, which a purge removes with the rest', async () => {
      const flagged = await targetOf('tax_flagged', 'flag-flow', { nsrsbh: 'string', nsrmc: 'string', deleted: 'boolean' }, ['nsrsbh']);
      await apply(flagged, [{ key: 'S1', version: 1n, values: { nsrsbh: 'S1', nsrmc: '在', deleted: false } }, { key: 'S2', version: 1n, values: { nsrsbh: 'S2', nsrmc: '也在', deleted: false } }]);
      expect(await applyDel(binding(flagged, { column: 'deleted', value: true }), [del('S1', 2n)])).toEqual({ removed: 1, superseded: [] });
      const rows = await rowsOf('tax_flagged', ['nsrsbh'], ['nsrsbh', 'nsrmc', 'deleted']);
      expect(rows.map((r) => [r.nsrsbh, r.nsrmc, toWire('boolean', r.deleted)])).toEqual([['S1', '在', true], ['S2', '也在', false]]);
      // a purge (a grant ended with on_end: purge) removes the flagged row as well: it still holds the record's data (found by a tester)
      expect(await db.transaction((tx) => purgeFlow(tx, binding(flagged)))).toEqual({ removed: 2, unmatched: 0 });
      expect(await rowsOf('tax_flagged', ['nsrsbh'], ['nsrsbh'])).toEqual([]);
      expect(await versionRow(flagged.flow, 'S1')).toEqual([]);
    });
  });

  describe('values', () => {
    it('round-trips every value type exactly through apply and read', async () => {
      const cols = fx.values.columns;
      const STAMP = '2024-01-01T00:00:00.000001';
      const kinds: Record<string, Kind> = { k: 'string', stamp: 'datetime', ...Object.fromEntries(cols.map((c) => [c.name, c.kind])) };
      const target = await targetOf('vals', 'values-flow', kinds, ['k']);
      const empty = Object.fromEntries(cols.map((c) => [c.name, null]));
      const cases = cols.flatMap((c) => c.samples.map((sample, i) => ({ key: `${c.name}-${i}`, column: c, sample })));
      const records: ApplyRecord[] = [
        { key: 'nulls', version: 1n, values: { k: 'nulls', stamp: STAMP, ...empty } },
        ...cases.map((c) => ({ key: c.key, version: 1n, values: { k: c.key, stamp: STAMP, ...empty, [c.column.name]: written(c.sample) } })),
      ];
      expect(await apply(target, records)).toEqual({ written: records.length, superseded: [] });

      const source: ChangeSource = { table: 'vals', columns: Object.keys(kinds), key: ['k'], watermark: 'stamp' };
      const upTo = await db.changes.horizon(source, (await columnsOf('vals')).get('stamp')!);
      const rows = new Map((await readAll(source, null, 7, upTo)).map((r) => [r.k, r]));
      expect(rows.size).toBe(records.length);
      expect(cases.map((c) => [c.key, actual(c.sample, c.column.kind, rows.get(c.key)![c.column.name])]))
        .toEqual(cases.map((c) => [c.key, expected(c.sample)]));
      // every other column of each record stayed null, and a record of nulls reads as nulls
      for (const c of cases) expect([c.key, cols.filter((o) => o !== c.column && rows.get(c.key)![o.name] !== null).map((o) => o.name)]).toEqual([c.key, []]);
      expect(Object.fromEntries(cols.map((c) => [c.name, toWire(c.kind, rows.get('nulls')![c.name])]))).toEqual(empty);
      expect(toWire('datetime', rows.get('nulls')!.stamp)).toBe(STAMP);
    });
  });

  describe('identifiers that need quoting', () => {
    let target: TargetTable;
    const row = (key: string, n: number, note: string, stamp: string) => ({ [ODD.key]: key, [ODD.mixed]: `混合 ${n}`, [ODD.spaced]: n, [ODD.question]: note, [ODD.stamp]: stamp });

    beforeAll(async () => {
      target = await targetOf(ODD.table, 'odd-flow', { [ODD.key]: 'string', [ODD.mixed]: 'string', [ODD.spaced]: 'integer', [ODD.question]: 'string', [ODD.stamp]: 'datetime' }, [ODD.key]);
    });

    it('describes a table and columns whose names need quoting', async () => {
      const info = await db.catalog.describeTable(ODD.table);
      expect([...info!.columns.keys()]).toEqual([ODD.key, ODD.mixed, ODD.spaced, ODD.question, ODD.stamp]);
      expect(info!.columns.get(ODD.key)!.nullable).toBe(false);
      expect(info!.uniqueKeys).toEqual([[ODD.key]]);
      expect((await db.catalog.describeQuery(fx.odd.query)).map((c) => c.name)).toEqual([ODD_ALIASES.key, ODD_ALIASES.stamp, ODD_ALIASES.question]);
    });

    it('applies, reads, scans and deletes through names that need quoting', async () => {
      const rows = [row('a?', 1, '?', '2024-05-01T00:00:00.000001'), row('b "q" `b` [b]', 2, "it's", '2024-05-01T00:00:00.000002'), row("c 'c'", 3, '$1', '2024-05-01T00:00:00.000003')];
      expect(await apply(target, rows.map((values) => ({ key: String(values[ODD.key]), version: 1n, values })))).toEqual({ written: 3, superseded: [] });
      const updated = { ...rows[0], [ODD.mixed]: '改 1' };
      expect(await apply(target, [{ key: 'a?', version: 2n, values: updated }, { key: "c 'c'", version: 0n, values: rows[2] }])).toEqual({ written: 1, superseded: ["c 'c'"] });
      const current = [updated, rows[1], rows[2]];

      const source: ChangeSource = { table: ODD.table, columns: [ODD.key, ODD.mixed, ODD.spaced, ODD.question, ODD.stamp], key: [ODD.key], watermark: ODD.stamp };
      const upTo = await db.changes.horizon(source, (await columnsOf(ODD.table)).get(ODD.stamp)!);
      expect(await readAll(source, { watermark: '2024-01-01T00:00:00', key: [''] }, 2, upTo)).toEqual(current);
      expect(await db.changes.count(source, { watermark: rows[0][ODD.stamp], key: ['a?'] }, upTo)).toBe(2);
      expect((await db.changes.scanKeys(source, [ODD.key], ['a?'], 10)).map((r) => r[ODD.key])).toEqual(['b "q" `b` [b]', "c 'c'"]);

      const query: ChangeSource = { query: fx.odd.query, columns: [ODD_ALIASES.key, ODD_ALIASES.stamp, ODD_ALIASES.question], key: [ODD_ALIASES.key], watermark: ODD_ALIASES.stamp };
      expect(await readAll(query, { watermark: '2024-01-01T00:00:00', key: [''] }, 2, upTo)).toEqual(current.map((r) => ({
        [ODD_ALIASES.key]: r[ODD.key], [ODD_ALIASES.stamp]: r[ODD.stamp], [ODD_ALIASES.question]: r[ODD.question],
      })));

      const removed = await db.transaction((tx) => applyDeletes(tx, { flow: { id: target.flow }, table: target } as unknown as TargetBinding, [{ key: 'b "q" `b` [b]', version: 3n, keyValues: ['b "q" `b` [b]'] }]));
      expect(removed).toEqual({ removed: 1, superseded: [] });
      expect((await db.changes.scanKeys(source, [ODD.key], null, 10)).map((r) => r[ODD.key])).toEqual(['a?', "c 'c'"]);
    });
  });

  describe('bookkeeping', () => {
    it('creates the bookkeeping tables again without harm', async () => {
      expect(await createBookkeeping(db)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, upgrades: [] });
      const versions = await db.catalog.describeTable('dxg_versions');
      expect(versions?.uniqueKeys).toEqual([['flow', 'record_key']]);
      expect(versions?.columns.get('record_key')).toMatchObject({ type: fx.recordKeyType, nullable: false });
      const [head] = await t.query<{ n: unknown }>(sql`SELECT count(*) AS n FROM dxg_ledger_head`);
      expect(Number(head.n)).toBe(1);
    });

    it('round-trips outbox bodies as bytes, and quarantine items with or without one', async () => {
      const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await db.transaction(async (tx) => {
        await putOutbox(tx, [{ messageId: 'm-bytes', flow: 'f', kind: 'records', exchange: 'x', routingKey: 'r', headers: { a: '中', n: 1 }, body, to: 'tax' }]);
        await putQuarantine(tx, [
          { stage: 'source', flow: 'f', recordKey: 'k1', version: 9007199254740993n, reason: '缺少名称 \'?\'', record: { a: 1 } },
          { stage: 'dead-letter', reason: 'bad signature', body },
        ]);
      });
      const [item] = await pendingOutbox(db, 10);
      expect(item.body.equals(body)).toBe(true);
      expect(item.headers).toEqual({ a: '中', n: 1 });
      const stored = await t.query<{ reason: string; version: unknown; body: Buffer | null }>(sql`SELECT reason, version, body FROM dxg_quarantine ORDER BY id`);
      expect(stored.map((q) => [q.reason, q.version === null ? null : String(q.version), q.body ? Buffer.from(q.body).equals(body) : null]))
        .toEqual([['缺少名称 \'?\'', '9007199254740993', null], ['bad signature', null, true]]);
    });

    it('limits a SELECT the dialect\'s way and locks a row for update', async () => {
      for (const id of ['lim-3', 'lim-1', 'lim-2']) await db.transaction((tx) => claimInbox(tx, id, 'lim', 'amr', tx.sql.isUniqueViolation));
      expect(await db.query(db.sql.limit(sql`SELECT message_id FROM dxg_inbox WHERE flow = ${'lim'} ORDER BY message_id`, 2))).toEqual([{ message_id: 'lim-1' }, { message_id: 'lim-2' }]);
      const head = await db.transaction((tx) => tx.query<{ seq: unknown; hash: string }>(tx.sql.forUpdate(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = ${1}`, 'dxg_ledger_head')));
      expect(head.map((h) => [String(h.seq), h.hash])).toEqual([['0', GENESIS]]);
    });
  });
}

describe.each(ENGINES)('%s adapter', conformance);
if (SKIPPED.length) describe.skip.each(SKIPPED)('%s adapter', conformance);
