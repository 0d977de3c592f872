import { address, ageOn, AS_OF, newEnterprise, randomDate, renamedCompany, streams, type Enterprise, type GeneratedEnterprise, type GeneratedPerson } from './generate';
import { sql } from '../../adapters/sql';
import type { SetupConnection } from './server';
import { DISTRICTS } from './vocabulary';

/** What the business systems change between the demo's two exchanges: the next cycle carries only these. */
export interface DemoChanges {
  /** 名称变更 at market regulation */
  renames: { credit_code: string; ent_name: string }[];
  /** 注销: status 4, which tax's `where` no longer admits */
  deregistrations: { credit_code: string; was: string }[];
  newEnterprises: Enterprise[];
  /** registered in error and deleted outright (a hard delete: only the key reconciliation sees it) */
  erasures: { credit_code: string }[];
  /** 死亡登记 at public security */
  deaths: { sfzh: string; swrq: string; lowIncome: boolean }[];
  /** 户籍迁移 within the city */
  moves: { sfzh: string; hjdqh: string; hjdz: string }[];
}

const CHANGE_COUNTS = { renames: 50, deregistrations: 20, newEnterprises: 5, erasures: 3, deaths: 30, moves: 10 };

/** Deterministic for a seed: a test can plan the same changes and predict the targets. */
export function planChanges(enterprises: GeneratedEnterprise[], persons: GeneratedPerson[], seed: number): DemoChanges {
  const rng = streams.changes(seed);
  const active = enterprises.filter((e) => !e.flaw && !e.longName && ['1', '2'].includes(e.row.status_code));
  const companies = active.filter((e) => e.row.credit_code[1] === '1');
  const renamed = rng.sample(companies, CHANGE_COUNTS.renames);
  const renamedCodes = new Set(renamed.map((e) => e.row.credit_code));
  const deregistered = rng.sample(active.filter((e) => !renamedCodes.has(e.row.credit_code)), CHANGE_COUNTS.deregistrations);
  const touched = new Set([...renamedCodes, ...deregistered.map((e) => e.row.credit_code)]);
  const erased = rng.sample(active.filter((e) => !touched.has(e.row.credit_code)), CHANGE_COUNTS.erasures);
  const names = new Set(enterprises.map((e) => e.row.ent_name));
  const codes = new Set(enterprises.map((e) => e.row.credit_code));

  // deaths mostly among the old, and some among low-income recipients: what civil affairs must learn of
  const living = persons.filter((p) => !p.flaw && !p.row.swbz);
  const elderly = living.filter((p) => ageOn(p.row.csrq, AS_OF) >= 60);
  const lowIncome = rng.sample(elderly.filter((p) => p.row.dbbz), Math.round(CHANGE_COUNTS.deaths / 5));
  const taken = new Set(lowIncome);
  const others = rng.sample(elderly.filter((p) => !taken.has(p)), CHANGE_COUNTS.deaths - lowIncome.length);
  const dying = [...lowIncome, ...others];
  for (const p of dying) taken.add(p);
  const moving = rng.sample(living.filter((p) => !taken.has(p)), CHANGE_COUNTS.moves);

  return {
    renames: renamed.map((e) => ({ credit_code: e.row.credit_code, ent_name: renamedCompany(rng, e.row, names) })),
    deregistrations: deregistered.map((e) => ({ credit_code: e.row.credit_code, was: e.row.status_code })),
    newEnterprises: Array.from({ length: CHANGE_COUNTS.newEnterprises }, () => {
      const e = newEnterprise(rng, { codes, names });
      return { ...e, status_code: '1', est_date: randomDate(rng, '2024-12-01', AS_OF) };
    }),
    erasures: erased.map((e) => ({ credit_code: e.row.credit_code })),
    deaths: dying.map((p) => ({ sfzh: p.row.sfzh, swrq: randomDate(rng, '2024-12-01', AS_OF), lowIncome: p.row.dbbz })),
    moves: moving.map((p) => {
      const to = rng.pick(DISTRICTS.filter((d) => d.code !== p.row.hjdqh));
      return { sfzh: p.row.sfzh, hjdqh: to.code, hjdz: address(rng, to, true) };
    }),
  };
}

/** Writes the changes as the departments' business systems would; the databases stamp the watermarks. */
export async function applyChanges(amr: SetupConnection, police: SetupConnection, changes: DemoChanges): Promise<void> {
  for (const r of changes.renames) await amr.run(sql`UPDATE ent_registry SET ent_name = ${r.ent_name} WHERE credit_code = ${r.credit_code}`);
  for (const d of changes.deregistrations) await amr.run(sql`UPDATE ent_registry SET status_code = '4' WHERE credit_code = ${d.credit_code}`);
  await amr.insert('ent_registry', changes.newEnterprises);
  for (const e of changes.erasures) await amr.run(sql`DELETE FROM ent_registry WHERE credit_code = ${e.credit_code}`);
  for (const d of changes.deaths) await police.run(sql`UPDATE rk_person SET swbz = ${true}, swrq = ${d.swrq} WHERE sfzh = ${d.sfzh}`);
  for (const m of changes.moves) await police.run(sql`UPDATE rk_person SET hjdqh = ${m.hjdqh}, hjdz = ${m.hjdz} WHERE sfzh = ${m.sfzh}`);
}
