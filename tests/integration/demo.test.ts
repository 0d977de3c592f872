import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, dropDatabase, sql } from '../../adapters';
import { planChanges } from '../../gateway/demo/changes';
import { generateEnterprises, generatePersons } from '../../gateway/demo/generate';
import { MYSQL_SERVER, PG_SERVER } from '../helpers/databases';
import { ROOT, TestExchange } from '../helpers/exchange';
import { freePort } from '../helpers/ports';

/**
 * `dxg demo` as a newcomer runs it, on small numbers, against the shipped flows and indicator sets but
 * databases and an exchange of its own. What the targets hold is predicted from the source tables and
 * the generator's own labels (which records are flawed, which names too long, which deregistered).
 */
const SEED = 11;
const N = 300;
const tag = `${process.pid}_${Date.now().toString(36)}`;
const ENGINES = { amr: 'postgres', tax: 'mysql', qs: 'postgres', police: 'mysql', civil: 'postgres' } as const;
type Dept = keyof typeof ENGINES;
const dbName = (d: string) => `dxg_demot_${tag}_${d}`;
const urlOf = (d: Dept, name = dbName(d)) => `${ENGINES[d] === 'postgres' ? PG_SERVER : MYSQL_SERVER}/${name}`;
const FLOWS = Object.fromEntries(['enterprise-basic', 'person-basic'].map((f) => [f, readFileSync(join(ROOT, 'flows', `${f}.yaml`), 'utf8')]));
const TAX_STATUS: Record<string, string> = { '1': '存续', '2': '在业' };

type Rows = Map<string, Record<string, string | null>>;

/** Every value as text, booleans as 1/0 and timestamps with microseconds, whichever engine holds them. */
async function read(d: Dept, text: { postgres: string; mysql: string }): Promise<Rows> {
  const db = await connect({ driver: ENGINES[d], url: urlOf(d), pool: 1 }, `demo test ${d}`);
  const rows = await db.query(sql.raw(text[ENGINES[d]])).finally(() => db.close());
  const asText = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  return new Map(rows.map((r) => {
    const values = Object.values(r);
    return [String(values[0]), Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asText(v)]))];
  }));
}

const pg = (cols: string[], stamp: string, table: string) => `SELECT ${cols.map((c) => (c === stamp ? `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') AS ${c}` : `${c}::text AS ${c}`)).join(', ')} FROM ${table}`;
const my = (cols: string[], stamp: string, table: string) => `SELECT ${cols.map((c) => (c === stamp ? `DATE_FORMAT(${c}, '%Y-%m-%d %H:%i:%s.%f') AS ${c}` : `CAST(${c} AS CHAR) AS ${c}`)).join(', ')} FROM ${table}`;
const both = (cols: string[], stamp: string, table: string) => ({ postgres: pg(cols, stamp, table), mysql: my(cols, stamp, table) });
const bools = (r: Record<string, string | null>, ...cols: string[]) => {
  const out = { ...r };
  for (const c of cols) if (out[c] !== null) out[c] = ['1', 'true', 't'].includes(out[c]!) ? '1' : '0';
  return out;
};

async function scalar(d: Dept, text: string): Promise<number> {
  const rows = await read(d, { postgres: text, mysql: text });
  return Number([...rows.keys()][0]);
}

describe('dxg demo', () => {
  const enterprises = generateEnterprises(N, SEED);
  const persons = generatePersons(N, SEED);
  const changes = planChanges(enterprises, persons, SEED);
  let ex: TestExchange;
  let run: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    ex = new TestExchange(Object.fromEntries(Object.entries(ENGINES).map(([d, driver]) => [d, { driver, url: urlOf(d as Dept) }])), FLOWS);
    ex.addCentre({ databaseUrl: `${PG_SERVER}/${dbName('centre')}`, port: await freePort() });
    // governed by the shipped catalog, as the README's demo is
    ex.addCatalog(Object.fromEntries(readdirSync(join(ROOT, 'catalog')).map((f) => [f.replace(/\.yaml$/, ''), readFileSync(join(ROOT, 'catalog', f), 'utf8')])));
    run = await ex.dxg('demo', '--enterprises', String(N), '--persons', String(N), '--seed', String(SEED));
  });

  afterAll(async () => {
    await ex.destroy();
    for (const d of Object.keys(ENGINES) as Dept[]) await dropDatabase({ driver: ENGINES[d], url: urlOf(d) });
    await dropDatabase({ driver: 'postgres', url: `${PG_SERVER}/${dbName('centre')}` });
  });

  it('runs end to end and says the accounts reconcile and the ledgers verify', () => {
    expect({ code: run.code, stderr: run.code ? run.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^reconciled: /m);
    expect(run.stdout).not.toMatch(/NOT reconciled|MISMATCH|BROKEN/);
    for (const d of Object.keys(ENGINES)) expect(run.stdout).toMatch(new RegExp(`^  ${d}: \\d+ entries, chain and signatures intact$`, 'm'));
    expect(run.stdout).toContain(`audit --key ${changes.renames[0].credit_code}`);
  });

  it('runs the exchange centre beside it: every ledger collected whole, the counts reconciled there too, no alarm', () => {
    const centre = run.stdout.slice(run.stdout.search(/^\d+\. The exchange centre/m));
    expect(centre).toContain('every ledger intact');
    expect(centre).toContain('Open alarms: none');
    for (const d of Object.keys(ENGINES)) expect(centre).toMatch(new RegExp(`│ ${d}\\s.*│ complete │`));
    expect(centre).not.toMatch(/│ no\s|behind|BROKEN/);
    // the centre's trail of the traced record is the one the department ledgers give
    const entries = [...run.stdout.matchAll(/^(\d+) entries$/gm)].map((m) => Number(m[1]));
    expect(entries).toHaveLength(2);
    expect(entries[1]).toBe(entries[0]);
    expect(run.stdout).toContain('auditor / demo-auditor');
  });

  const entCols = ['credit_code', 'ent_name', 'legal_rep', 'reg_capital', 'status_code', 'est_date', 'industry_code', 'region_code', 'address', 'business_scope', 'employees', 'is_listed', 'updated_at'];
  const sourceEnterprises = () => read('amr', both(entCols, 'updated_at', 'ent_registry'));
  const flawedCodes = () => new Set(enterprises.filter((e) => e.flaw).map((e) => e.row.credit_code));

  it('gives tax exactly the valid active enterprises, status translated, except the names its register refuses', async () => {
    const source = await sourceEnterprises();
    const flawed = flawedCodes();
    const tooLong = new Set(enterprises.filter((e) => e.longName).map((e) => e.row.credit_code));
    // deregistered enterprises left tax's `where` and erased ones left the source: the reconciliation withdrew both
    const expected = new Map<string, Record<string, string | null>>();
    for (const [code, r] of source) {
      const status = r.status_code!;
      if (flawed.has(code) || tooLong.has(code) || !TAX_STATUS[status]) continue;
      expected.set(code, {
        nsrsbh: code, nsrmc: r.ent_name, fddbr: r.legal_rep, zczb: r.reg_capital, zt: TAX_STATUS[status], clrq: r.est_date,
        xzqh: r.region_code, scjydz: r.address,
      });
    }
    const tax = await read('tax', both(['nsrsbh', 'nsrmc', 'fddbr', 'zczb', 'zt', 'clrq', 'xzqh', 'scjydz'], '', 'tax_taxpayer'));
    expect(tax.size).toBe(expected.size);
    expect(tax).toEqual(expected);
    for (const r of changes.renames) expect(tax.get(r.credit_code)?.nsrmc).toBe(r.ent_name);
    for (const e of changes.newEnterprises) expect(tax.get(e.credit_code)?.zt).toBe('存续');
    for (const d of [...changes.deregistrations, ...changes.erasures]) expect(tax.has(d.credit_code)).toBe(false);

    const rejected = await read('tax', both(['record_key', 'stage', 'reason'], '', 'dxg_quarantine'));
    expect(new Set(rejected.keys())).toEqual(tooLong);
    for (const r of rejected.values()) expect(r).toMatchObject({ stage: 'target', reason: expect.stringMatching(/target database refused the record: .*nsrmc/) });
  });

  it('gives quality supervision every valid enterprise in every status, as it is now', async () => {
    const source = await sourceEnterprises();
    const flawed = flawedCodes();
    const expected = new Map([...source].filter(([code]) => !flawed.has(code)).map(([code, r]) => [code, bools({
      uscc: code, name: r.ent_name, status: r.status_code, industry: r.industry_code, region: r.region_code, address: r.address,
      scope: r.business_scope, employees: r.employees, listed: r.is_listed, source_updated_at: r.updated_at,
    }, 'listed')]));
    const qs = await read('qs', both(['uscc', 'name', 'status', 'industry', 'region', 'address', 'scope', 'employees', 'listed', 'source_updated_at'], 'source_updated_at', 'qs_enterprise'));
    expect(new Map([...qs].map(([k, r]) => [k, bools(r, 'listed')]))).toEqual(expected);
    expect(qs.size).toBe(N - flawed.size + changes.newEnterprises.length - changes.erasures.length);
  });

  it('gives civil affairs every valid person, deaths and moves of the second round included', async () => {
    const source = await read('police', both(['sfzh', 'xm', 'xb', 'csrq', 'hjdqh', 'hyzk', 'swbz', 'swrq', 'dbbz', 'gxsj'], 'gxsj', 'rk_person'));
    const flawed = new Set(persons.filter((p) => p.flaw).map((p) => p.row.sfzh));
    const expected = new Map([...source].filter(([id]) => !flawed.has(id)).map(([id, r]) => [id, bools({
      id_number: id, name: r.xm, gender: r.xb, birth_date: r.csrq, household_region: r.hjdqh, marital_status: r.hyzk,
      deceased: r.swbz, death_date: r.swrq, low_income: r.dbbz, source_updated_at: r.gxsj,
    }, 'deceased', 'low_income')]));
    const civil = await read('civil', both(['id_number', 'name', 'gender', 'birth_date', 'household_region', 'marital_status', 'deceased', 'death_date', 'low_income', 'source_updated_at'], 'source_updated_at', 'mz_resident'));
    expect(new Map([...civil].map(([k, r]) => [k, bools(r, 'deceased', 'low_income')]))).toEqual(expected);
    for (const d of changes.deaths) expect(civil.get(d.sfzh)).toMatchObject({ death_date: d.swrq });
    for (const m of changes.moves) expect(civil.get(m.sfzh)?.household_region).toBe(m.hjdqh);
  });

  it('quarantines at the source exactly the records generated with data errors, with reasons', async () => {
    const ent = await read('amr', both(['record_key', 'stage', 'reason'], '', 'dxg_quarantine'));
    expect(new Set(ent.keys())).toEqual(flawedCodes());
    const people = await read('police', both(['record_key', 'stage', 'reason'], '', 'dxg_quarantine'));
    expect(new Set(people.keys())).toEqual(new Set(persons.filter((p) => p.flaw).map((p) => p.row.sfzh)));
    for (const q of [...ent.values(), ...people.values()]) expect(q).toMatchObject({ stage: 'source', reason: expect.stringMatching(/^\w+: /) });
    // the summary counts records, not the times each was set aside (a full resync sets them aside again)
    const table = run.stdout.slice(run.stdout.indexOf('Quarantined at the sources'), run.stdout.indexOf('Rejected by the targets'));
    const counted = (flow: string) => [...table.matchAll(new RegExp(`│ ${flow}\\s*│ (\\d+)`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
    expect([counted('enterprise-basic'), counted('person-basic')]).toEqual([flawedCodes().size, persons.filter((p) => p.flaw).length]);
  });

  it('sends only the changed records in the second round', async () => {
    const extracted = (d: Dept) => scalar(d, "SELECT sum(record_count) AS n FROM dxg_ledger WHERE kind = 'extract'");
    expect(await extracted('amr')).toBe(N + changes.renames.length + changes.deregistrations.length + changes.newEnterprises.length);
    // and, after the revocation, the full resync that withholds everything from civil
    expect(await extracted('police')).toBe(N + changes.deaths.length + changes.moves.length + N);
  });

  it('runs the loop of the seeds: catalog, application, approval, exchange under the grant, a rejection, a refusal, a revocation', async () => {
    expect(run.stdout).toMatch(/not bound \(no grant yet\): person-basic → civil/);
    expect(run.stdout).toMatch(/dxg approve (A\d+) \(approver-police\): approved; the broker binds person-basic → civil/);
    expect(run.stdout).toMatch(/dxg reject A\d+ \(approver-police\): 联系电话与住址超出最小必要范围/);
    expect(run.stdout).toMatch(/police\.criminal-record → rejected at once: not shared \(不予共享\)/);
    expect(run.stdout).toMatch(/dxg revoke A\d+ \(approver-police\): revoked — the broker unbound person-basic → civil/);
    const grant = /dxg approve (A\d+)/.exec(run.stdout)![1];
    // every delivery to civil names the grant, at the source and at the target
    const valid = persons.filter((p) => !p.flaw).length;
    const published = await read('police', { postgres: '', mysql: "SELECT to_dept, CAST(sum(record_count) AS CHAR) AS n, CAST(sum(CASE WHEN JSON_VALUE(detail, '$.grant') = 'GRANT' THEN record_count ELSE 0 END) AS CHAR) AS named FROM dxg_ledger WHERE kind = 'publish' GROUP BY to_dept".replace('GRANT', grant) });
    expect(Number(published.get('civil')!.n)).toBeGreaterThanOrEqual(valid);
    expect(published.get('civil')!.named).toBe(published.get('civil')!.n);
    const applied = await read('civil', { postgres: `SELECT detail::json->>'grant' AS grant, count(*)::text AS n FROM dxg_ledger WHERE kind = 'apply' GROUP BY 1`, mysql: '' });
    expect([...applied.keys()]).toEqual([grant]);
    // after the revocation nothing more reached civil: the resync's records were withheld, and say so
    const withheld = await read('police', { postgres: '', mysql: "SELECT CAST(sum(JSON_VALUE(detail, '$.withheld.civil')) AS CHAR) AS n FROM dxg_ledger WHERE kind = 'extract'" });
    expect([...withheld.keys()]).toEqual([String(valid)]);
  });
});

describe('dxg demo with a database not named dxg_*', () => {
  it('refuses before dropping anything', async () => {
    const spared = (d: string) => `dxg_demot_${tag}_spared_${d}`;
    const ex = new TestExchange({
      amr: { driver: 'postgres', url: `${PG_SERVER}/${spared('amr')}` },
      tax: { driver: 'mysql', url: `${MYSQL_SERVER}/taxdb_${tag}` },
      qs: { driver: 'postgres', url: `${PG_SERVER}/${spared('qs')}` },
      police: { driver: 'mysql', url: `${MYSQL_SERVER}/${spared('police')}` },
      civil: { driver: 'postgres', url: `${PG_SERVER}/${spared('civil')}` },
    }, FLOWS);
    const r = await ex.dxg('demo', '--enterprises', '200', '--persons', '200');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('department tax: the demo only resets databases named dxg_*');
    const admin = await connect({ driver: 'postgres', url: `${PG_SERVER}/postgres`, pool: 1 }, 'demo test');
    const rows = await admin.query(sql`SELECT datname FROM pg_database WHERE datname LIKE ${`dxg_demot_${tag}_spared_%`}`).finally(() => admin.close());
    expect(rows).toEqual([]);
  });
});
