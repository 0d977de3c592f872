/**
 * One record's trail, asked of the centre (an index lookup: centre_record_keys) and, side by side,
 * of the department ledgers as `dxg audit --key` asks them today (collectTrail: `record_keys LIKE`
 * over every department's dxg_ledger), on the same entries at the size of the seeds' credit platform
 * (48.5 M records). The entries are made inside PostgreSQL (INSERT … SELECT over generate_series),
 * in the product's own tables: createCentreSchema for the centre, createBookkeeping for each
 * department database.
 */
import { sql, type Database } from '../adapters';
import { createBookkeeping } from '../gateway/bookkeeping/schema';
import { createCentreSchema } from '../gateway/centre/schema';
import { recordTrail, searchAudit } from '../gateway/centre/search';
import { collectTrail, type TrailEntry } from '../gateway/cli/trail';
import { Random } from '../gateway/demo/random';
import { percentiles, type Percentiles } from './centre';
import { open, type Databases, type Db } from './services';

type Say = (msg: string) => void;
const fmt = (n: number) => n.toLocaleString('en');
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The target of every message: the credit platform (公共信用信息平台), which gathers the departments' records. */
const TARGET = 'credit';

export interface CentreSearchOptions {
  /** distinct record keys the entries name */
  keys: number;
  /** keys per message (publish and apply entry): the flows' default batch_size */
  keysPerEntry: number;
  /** source departments (d01 …); the target is one more, `credit` */
  departments: number;
  /** keys whose trail the centre is asked for */
  samples: number;
  /** keys whose trail the department ledgers are asked for (each a scan of every ledger) */
  scanSamples: number;
  dbs: Databases;
  /** keep the databases afterwards (else they are dropped at the end of the part: at 50 M keys they take some 20 GB) */
  keep: boolean;
  say: Say;
}

export interface CentreSearchResult {
  keys: number;
  keysPerEntry: number;
  departments: number;
  messages: number;
  entries: number;
  /** rows of centre_record_keys (each key is named by a publish and an apply) */
  keyRows: number;
  fillSeconds: { centreLedger: number; centreRecordKeys: number; centreIndex: number; departmentLedgers: number };
  sizesMiB: { centreLedger: number; centreRecordKeys: number; departmentLedgers: number };
  /** recordTrail(centre, key): what the centre's API /api/trail answers */
  centreTrail: Percentiles;
  /** searchAudit(centre, { key, limit: 100 }): the centre's /api/audit?key= */
  centreAudit: Percentiles;
  /** collectTrail(department databases, { key, limit: 1000 }): `dxg audit --key` today */
  departmentTrail: Percentiles;
  /** keys whose trails from the centre and from the departments were the same entries (of scanSamples) */
  agreed: number;
  /** EXPLAIN ANALYZE of the centre's key lookup for one key */
  plan: string;
}

/** Record key i: 18 characters like a 统一社会信用代码, scattered (2654435761 is coprime with 10^14), unique for i < 10^14. */
export const recordKey = (i: number): string => `9137${((BigInt(i) * 2654435761n + 13579n) % 10n ** 14n).toString().padStart(14, '0')}`;

/**
 * SQL functions the fill uses (dropped afterwards): the same record key as recordKey(); an entry's
 * hash (the real ones cover the content; nothing here checks them) and, per message m, the entries
 * the exchange writes: `publish` (seq 2j+1) and `receipt` (2j+2) in the source department's ledger
 * (m's j-th message), `apply` (seq m+1) in the credit platform's; publish and apply name the
 * message's keys, one per line, as the gateway writes record_keys.
 */
const FUNCTIONS = [
  `CREATE OR REPLACE FUNCTION dxgb_key(i bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
   $$ SELECT '9137' || lpad(((i * 2654435761 + 13579) % 100000000000000)::text, 14, '0') $$`,
  `CREATE OR REPLACE FUNCTION dxgb_hash(department text, seq bigint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
   $$ SELECT CASE WHEN seq = 0 THEN repeat('0', 64) ELSE encode(sha256(convert_to(department || '/' || seq, 'UTF8')), 'hex') END $$`,
  `CREATE OR REPLACE FUNCTION dxgb_entries(first bigint, last bigint, step bigint, sides text, k bigint, b bigint, d bigint)
   RETURNS TABLE (department text, seq bigint, at text, kind text, flow text, message_id text, from_dept text, to_dept text, record_count integer,
     digest text, record_keys text, detail text, algorithm text, prev_hash text, hash text, signature text)
   LANGUAGE sql STABLE AS $$
     SELECT e.department, e.seq, to_char(e.t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), e.kind, 'credit.' || x.src, x.mid, e.from_dept, e.to_dept, x.n,
       e.digest, e.keys, e.detail, 'ed25519/sha256', dxgb_hash(e.department, e.seq - 1), dxgb_hash(e.department, e.seq),
       encode(sha512(convert_to(e.department || '/' || e.seq || '/signature', 'UTF8')), 'base64')
     FROM generate_series(first, last, step) AS m
     CROSS JOIN LATERAL (SELECT 'd' || lpad((m % d + 1)::text, 2, '0') AS src, m / d AS j, md5('message ' || m)::uuid::text AS mid,
       (least(k, (m + 1) * b) - m * b)::integer AS n, timestamp '2024-01-01' + m * interval '1 second' AS t) AS x
     CROSS JOIN LATERAL (SELECT string_agg(dxgb_key(i), E'\\n' ORDER BY i) AS keys FROM generate_series(m * b, least(k, (m + 1) * b) - 1) AS i) AS ks
     CROSS JOIN LATERAL (VALUES
       (x.src, 2 * x.j + 1, x.t, 'publish', x.src, '${TARGET}', encode(sha256(convert_to(x.mid, 'UTF8')), 'hex'), ks.keys,
         '{"sequence":' || (x.j + 1) || ',"bytes":' || (x.n * 440) || '}'),
       ('${TARGET}', m + 1, x.t + interval '300 milliseconds', 'apply', x.src, '${TARGET}', encode(sha256(convert_to('body ' || x.mid, 'UTF8')), 'hex'), ks.keys,
         '{"sequence":' || (x.j + 1) || ',"written":' || x.n || ',"superseded":0}'),
       (x.src, 2 * x.j + 2, x.t + interval '600 milliseconds', 'receipt', '${TARGET}', x.src, NULL, NULL,
         '{"rejected":0,"superseded":0,"receiptId":"' || md5('receipt ' || m)::uuid || '"}')
     ) AS e(department, seq, t, kind, from_dept, to_dept, digest, keys, detail)
     WHERE sides = 'both' OR (sides = 'source') = (e.department <> '${TARGET}')
   $$`,
];
const DROP = ['DROP FUNCTION IF EXISTS dxgb_entries(bigint, bigint, bigint, text, bigint, bigint, bigint)', 'DROP FUNCTION IF EXISTS dxgb_hash(text, bigint)', 'DROP FUNCTION IF EXISTS dxgb_key(bigint)'];
const LEDGER_COLUMNS = 'seq, at, kind, flow, message_id, from_dept, to_dept, record_count, digest, record_keys, detail, algorithm, prev_hash, hash, signature';

async function run(db: Database, statements: string[]): Promise<void> {
  for (const s of statements) await db.execute(sql.raw(s));
}

async function sizeMiB(db: Database, table: string): Promise<number> {
  const [r] = await db.query<{ b: string }>(sql`SELECT pg_total_relation_size(${table}::regclass) AS b`);
  return Number(r.b) / 2 ** 20;
}

const BIG = (n: number) => sql.raw(`${Math.trunc(n)}::bigint`);

/** Fills the centre's tables and the departments' ledgers, then times the trail of random keys both ways. */
export async function centreSearch(o: CentreSearchOptions): Promise<CentreSearchResult> {
  const { keys: K, keysPerEntry: B, departments: D, say } = o;
  const M = Math.ceil(K / B);
  const centreDb = await o.dbs.create('postgres', 'search_centre');
  const names = [...Array.from({ length: D }, (_, i) => `d${String(i + 1).padStart(2, '0')}`), TARGET];
  const deptDbs = new Map<string, Db>();
  for (const d of names) deptDbs.set(d, await o.dbs.create('postgres', `search_${d}`));
  say(`centre-search: ${fmt(K)} record keys in ${fmt(M)} messages of ${fmt(B)} from ${D} departments to ${TARGET}: ${fmt(3 * M)} entries, ${fmt(2 * K)} key rows; `
    + `databases ${centreDb.name} (centre) and ${names.length} department databases`);
  const centre = await open(centreDb, 1);
  const departments = new Map<string, Database>();
  try {
    for (const [d, db] of deptDbs) departments.set(d, await open(db, 1));
    const fill = { centreLedger: 0, centreRecordKeys: 0, centreIndex: 0, departmentLedgers: 0 };

    // --- the centre: its own schema, then the entries and the key index ---
    await createCentreSchema(centre);
    await run(centre, FUNCTIONS);
    let t0 = performance.now();
    const chunk = 500;
    for (let m = 0; m < M; m += chunk) {
      await centre.execute(sql`INSERT INTO centre_ledger (department, ${sql.raw(LEDGER_COLUMNS)}) SELECT * FROM dxgb_entries(${BIG(m)}, ${BIG(Math.min(M, m + chunk) - 1)}, 1, 'both', ${BIG(K)}, ${BIG(B)}, ${BIG(D)})`);
      if ((m / chunk) % 20 === 19) say(`centre-search: centre_ledger ${fmt(3 * Math.min(M, m + chunk))} / ${fmt(3 * M)} entries`);
    }
    // the centre shows only the checked part of each copy: here all of it, as after collecting (and checking) every entry
    await centre.execute(sql`INSERT INTO centre_departments (department, contiguous, contiguous_hash)
      SELECT department, max(seq), dxgb_hash(department, max(seq)) FROM centre_ledger GROUP BY department`);
    fill.centreLedger = round((performance.now() - t0) / 1000);
    say(`centre-search: centre_ledger filled in ${fill.centreLedger} s`);
    // the key index loads without its indexes, each then built in one sort (as the product declares them)
    t0 = performance.now();
    await centre.execute(sql`ALTER TABLE centre_record_keys DROP CONSTRAINT centre_record_keys_pkey`);
    await centre.execute(sql`DROP INDEX centre_record_keys_entry`);
    const step = 2_000_000;
    for (let i = 0; i < K; i += step) {
      await centre.execute(sql`INSERT INTO centre_record_keys (record_key, department, seq)
        SELECT dxgb_key(i), v.department, v.seq FROM generate_series(${BIG(i)}, ${BIG(Math.min(K, i + step) - 1)}) AS i
        CROSS JOIN LATERAL (VALUES ('d' || lpad(((i / ${BIG(B)}) % ${BIG(D)} + 1)::text, 2, '0'), 2 * ((i / ${BIG(B)}) / ${BIG(D)}) + 1), (${TARGET}, i / ${BIG(B)} + 1)) AS v(department, seq)`);
      say(`centre-search: centre_record_keys ${fmt(2 * Math.min(K, i + step))} / ${fmt(2 * K)} rows`);
    }
    fill.centreRecordKeys = round((performance.now() - t0) / 1000);
    t0 = performance.now();
    say('centre-search: building centre_record_keys\' primary key (record_key, department, seq) and its index by entry (department, seq)');
    await centre.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL maintenance_work_mem = '1GB'`);
      await tx.execute(sql`ALTER TABLE centre_record_keys ADD CONSTRAINT centre_record_keys_pkey PRIMARY KEY (record_key, department, seq)`);
      await tx.execute(sql`CREATE INDEX centre_record_keys_entry ON centre_record_keys (department, seq)`);
    });
    await centre.execute(sql`ANALYZE centre_ledger`);
    await centre.execute(sql`ANALYZE centre_record_keys`);
    fill.centreIndex = round((performance.now() - t0) / 1000);
    await run(centre, DROP);
    say(`centre-search: centre_record_keys filled in ${fill.centreRecordKeys} s, its indexes built in ${fill.centreIndex} s`);

    // --- the same entries in each department's own ledger ---
    t0 = performance.now();
    for (const [d, db] of departments) {
      await createBookkeeping(db, d);
      await run(db, FUNCTIONS);
      if (d === TARGET) {
        for (let m = 0; m < M; m += chunk) {
          await db.execute(sql`INSERT INTO dxg_ledger (${sql.raw(LEDGER_COLUMNS)}) SELECT ${sql.raw(LEDGER_COLUMNS)} FROM dxgb_entries(${BIG(m)}, ${BIG(Math.min(M, m + chunk) - 1)}, 1, 'target', ${BIG(K)}, ${BIG(B)}, ${BIG(D)})`);
        }
      } else {
        const s = names.indexOf(d);
        for (let first = s; first < M; first += chunk * D) {
          const last = Math.min(M - 1, first + (chunk - 1) * D);
          await db.execute(sql`INSERT INTO dxg_ledger (${sql.raw(LEDGER_COLUMNS)}) SELECT ${sql.raw(LEDGER_COLUMNS)} FROM dxgb_entries(${BIG(first)}, ${BIG(last)}, ${BIG(D)}, 'source', ${BIG(K)}, ${BIG(B)}, ${BIG(D)})`);
        }
      }
      await db.execute(sql`UPDATE dxg_ledger_head SET seq = (SELECT coalesce(max(seq), 0) FROM dxg_ledger), hash = coalesce((SELECT hash FROM dxg_ledger ORDER BY seq DESC LIMIT 1), hash) WHERE id = 1`);
      await db.execute(sql`ANALYZE dxg_ledger`);
      await run(db, DROP);
      say(`centre-search: ledger of ${d} filled`);
    }
    fill.departmentLedgers = round((performance.now() - t0) / 1000);

    // --- the same size both ways ---
    const [counts] = await centre.query<{ entries: string }>(sql`SELECT count(*) AS entries FROM centre_ledger`);
    let deptEntries = 0;
    for (const db of departments.values()) deptEntries += Number((await db.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_ledger`))[0].n);
    if (Number(counts.entries) !== 3 * M || deptEntries !== 3 * M) throw new Error(`centre-search: ${counts.entries} entries in the centre, ${deptEntries} in the departments, ${3 * M} expected`);
    let deptBytes = 0;
    for (const db of departments.values()) deptBytes += await sizeMiB(db, 'dxg_ledger');
    const sizesMiB = { centreLedger: round(await sizeMiB(centre, 'centre_ledger')), centreRecordKeys: round(await sizeMiB(centre, 'centre_record_keys')), departmentLedgers: round(deptBytes) };
    say(`centre-search: sizes: centre_ledger ${fmt(sizesMiB.centreLedger)} MiB, centre_record_keys ${fmt(sizesMiB.centreRecordKeys)} MiB; department ledgers ${fmt(sizesMiB.departmentLedgers)} MiB`);

    // --- timing: random keys (the same ones in every run), warm caches as after any fill ---
    const random = new Random(48_500_000);
    const pick = () => random.int(0, K - 1);
    const centreTimes: number[] = [];
    const auditTimes: number[] = [];
    const trails = new Map<number, TrailEntry[]>();
    for (let s = 0; s < o.samples; s++) {
      const i = pick();
      const t = performance.now();
      const trail = await recordTrail(centre, recordKey(i));
      centreTimes.push(performance.now() - t);
      const kinds = trail.map((e) => e.kind).sort().join(',');
      if (kinds !== 'apply,publish,receipt') throw new Error(`centre-search: the centre's trail of key ${recordKey(i)} (record ${i}) is [${kinds}], not publish, apply and receipt`);
      if (s < o.scanSamples) trails.set(i, trail);
      const a = performance.now();
      const page = await searchAudit(centre, { key: recordKey(i), limit: 100 });
      auditTimes.push(performance.now() - a);
      if (page.entries.length !== 2) throw new Error(`centre-search: the centre's audit search for key ${recordKey(i)} found ${page.entries.length} entries, not its publish and apply`);
    }
    const centreTrail = percentiles(centreTimes);
    say(`centre-search: centre, recordTrail of ${o.samples} keys: p50 ${centreTrail.p50Ms} ms, p95 ${centreTrail.p95Ms} ms`);
    const deptTimes: number[] = [];
    let agreed = 0;
    const id = (e: TrailEntry) => `${e.ledger}:${e.seq}:${e.hash}`;
    for (const [i, trail] of trails) {
      const t = performance.now();
      const theirs = await collectTrail(departments, { key: recordKey(i), limit: 1000 });
      deptTimes.push(performance.now() - t);
      if (theirs.map(id).join('|') === trail.map(id).join('|')) agreed++;
      else say(`centre-search: the trails of key ${recordKey(i)} differ: centre ${trail.map(id).join(', ')}; departments ${theirs.map(id).join(', ')}`);
      say(`centre-search: departments, collectTrail (LIKE over ${departments.size} ledgers): ${fmt(Math.round(deptTimes[deptTimes.length - 1]))} ms`);
    }
    const key = recordKey(pick());
    const plan = (await centre.query<{ 'QUERY PLAN': string }>(sql`EXPLAIN (ANALYZE, BUFFERS) SELECT l.* FROM centre_record_keys k JOIN centre_ledger l ON l.department = k.department AND l.seq = k.seq
      WHERE k.record_key IN (${key})`)).map((r) => r['QUERY PLAN']).join('\n');
    return {
      keys: K, keysPerEntry: B, departments: D, messages: M, entries: 3 * M, keyRows: 2 * K, fillSeconds: fill, sizesMiB,
      centreTrail, centreAudit: percentiles(auditTimes), departmentTrail: percentiles(deptTimes), agreed, plan,
    };
  } finally {
    await centre.close().catch(() => undefined);
    for (const db of departments.values()) await db.close().catch(() => undefined);
    if (o.keep) say(`kept: ${centreDb.name} and the ${deptDbs.size} department databases of centre-search`);
    else for (const db of [centreDb, ...deptDbs.values()]) await o.dbs.drop(db).catch((err) => say(`could not drop ${db.name}: ${(err as Error).message}`));
  }
}
