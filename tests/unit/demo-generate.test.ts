import { join } from 'node:path';
import { planChanges } from '../../gateway/demo/changes';
import { ageOn, AS_OF, ENTERPRISE_FLAWS, generateEnterprises, generatePersons, orgCheckChar, PERSON_FLAWS } from '../../gateway/demo/generate';
import { IndicatorRegistry } from '../../gateway/indicators/registry';
import { isIdNumber, isUscc } from '../../gateway/indicators/formats';

const registry = new IndicatorRegistry(join(__dirname, '..', '..', 'schemas'));
const enterpriseSet = registry.get('enterprise.basic')!;
const personSet = registry.get('person.basic')!;
const checkEnterprise = enterpriseSet.view(Object.keys(enterpriseSet.properties));
const checkPerson = personSet.view(Object.keys(personSet.properties));
const STAMP = '2024-12-31T10:00:00.123456';

/** An ent_registry row as the flow's source projects it onto the indicator set. */
const enterpriseRecord = (r: ReturnType<typeof generateEnterprises>[number]['row']) => ({
  uscc: r.credit_code, name: r.ent_name, legal_rep: r.legal_rep, reg_capital: r.reg_capital, currency: r.currency, status: r.status_code,
  established: r.est_date, ent_type: r.ent_type, industry: r.industry_code, region: r.region_code, address: r.address,
  scope: r.business_scope, reg_authority: r.reg_authority, employees: r.employees, listed: r.is_listed, updated_at: STAMP,
});
const personRecord = (r: ReturnType<typeof generatePersons>[number]['row']) => ({
  id_number: r.sfzh, name: r.xm, gender: r.xb, birth_date: r.csrq, ethnicity: r.mz, household_region: r.hjdqh,
  household_address: r.hjdz, marital_status: r.hyzk, deceased: r.swbz, death_date: r.swrq, migration: r.qyzt,
  employment: r.jyzt, low_income: r.dbbz, phone: null, updated_at: STAMP,
});

describe('demo data', () => {
  const enterprises = generateEnterprises(3000, 2024);
  const persons = generatePersons(3000, 2024);

  it('is the same for the same seed, different for another', () => {
    expect(generateEnterprises(3000, 2024)).toEqual(enterprises);
    expect(generatePersons(3000, 2024)).toEqual(persons);
    expect(generateEnterprises(3000, 7)[0].row.credit_code).not.toBe(enterprises[0].row.credit_code);
    expect(planChanges(enterprises, persons, 2024)).toEqual(planChanges(generateEnterprises(3000, 2024), generatePersons(3000, 2024), 2024));
  });

  it('keeps the enterprises and their planned changes when only the number of persons changes', () => {
    const fewer = generatePersons(500, 2024);
    expect(fewer.length).toBe(500);
    const [all, some] = [planChanges(enterprises, persons, 2024), planChanges(enterprises, fewer, 2024)];
    for (const part of ['renames', 'deregistrations', 'newEnterprises', 'erasures'] as const) expect(some[part]).toEqual(all[part]);
    expect(some.deaths).not.toEqual(all.deaths);
  });

  it('has valid, unique credit codes and identity numbers except the deliberately wrong ones', () => {
    for (const e of enterprises) expect(isUscc(e.row.credit_code)).toBe(e.flaw !== 'uscc-check');
    for (const p of persons) expect(isIdNumber(p.row.sfzh)).toBe(p.flaw !== 'id-check');
    expect(new Set(enterprises.map((e) => e.row.credit_code)).size).toBe(enterprises.length);
    expect(new Set(persons.map((p) => p.row.sfzh)).size).toBe(persons.length);
  });

  it('passes the indicator sets exactly where no flaw was put in', () => {
    for (const e of enterprises) {
      const reasons = checkEnterprise(enterpriseRecord(e.row));
      expect({ code: e.row.credit_code, flaw: e.flaw, invalid: reasons.length > 0 }).toEqual({ code: e.row.credit_code, flaw: e.flaw, invalid: e.flaw !== null });
    }
    for (const p of persons) {
      const reasons = checkPerson(personRecord(p.row));
      expect({ id: p.row.sfzh, flaw: p.flaw, invalid: reasons.length > 0 }).toEqual({ id: p.row.sfzh, flaw: p.flaw, invalid: p.flaw !== null });
    }
  });

  it('puts in 2–3 % of flawed records, every kind a handful', () => {
    for (const [records, kinds] of [[enterprises, ENTERPRISE_FLAWS], [persons, PERSON_FLAWS]] as const) {
      const flawed = records.filter((r) => r.flaw);
      expect(flawed.length / records.length).toBeGreaterThanOrEqual(0.02);
      expect(flawed.length / records.length).toBeLessThanOrEqual(0.03);
      for (const k of kinds) expect(flawed.filter((r) => r.flaw === k).length).toBeGreaterThanOrEqual(5);
    }
    for (const n of [200, 300, 1000]) {
      const share = generatePersons(n, 1).filter((p) => p.flaw).length / n;
      expect(share).toBeGreaterThanOrEqual(0.02);
      expect(share).toBeLessThanOrEqual(0.03);
    }
  });

  it('makes a few valid names too long for the tax register, of enterprises tax admits', () => {
    const long = enterprises.filter((e) => e.longName);
    expect(long.length).toBeGreaterThanOrEqual(2);
    for (const e of long) {
      expect(e.flaw).toBeNull();
      expect(e.row.ent_name.length).toBeGreaterThan(100);
      expect(e.row.ent_name.length).toBeLessThanOrEqual(200);
      expect(['1', '2']).toContain(e.row.status_code);
    }
    expect(enterprises.filter((e) => !e.longName).every((e) => e.row.ent_name.length <= 100)).toBe(true);
  });

  it('keeps identity numbers consistent with birth date and gender', () => {
    for (const p of persons.filter((x) => !x.flaw)) {
      expect(p.row.sfzh.slice(6, 14)).toBe(p.row.csrq.replace(/-/g, ''));
      expect(Number(p.row.sfzh[16]) % 2 === 1 ? '1' : '2').toBe(p.row.xb);
      expect(p.row.csrq <= AS_OF).toBe(true);
      if (p.row.swrq) expect(p.row.swrq > p.row.csrq && p.row.swrq <= AS_OF).toBe(true);
      if (ageOn(p.row.csrq, AS_OF) < 20) expect(p.row.hyzk).toBe('10');
    }
  });

  it('spreads statuses so that tax filters some and most pass', () => {
    const share = (s: string) => enterprises.filter((e) => e.row.status_code === s).length / enterprises.length;
    expect(share('1') + share('2')).toBeGreaterThan(0.75);
    for (const s of ['3', '4', '5']) expect(share(s)).toBeGreaterThan(0.01);
  });

  it('computes organisation check characters as GB 11714 does', () => {
    expect(orgCheckChar('M000100Y')).toBe('4'); // from the GB 32100 example 91350100M000100Y43
  });

  it('plans second-round changes on clean records only', () => {
    const changes = planChanges(enterprises, persons, 2024);
    const byCode = new Map(enterprises.map((e) => [e.row.credit_code, e]));
    const byId = new Map(persons.map((p) => [p.row.sfzh, p]));
    expect(changes.renames).toHaveLength(50);
    expect(changes.deregistrations).toHaveLength(20);
    expect(changes.deaths).toHaveLength(30);
    expect(changes.moves).toHaveLength(10);
    for (const r of [...changes.renames, ...changes.deregistrations]) {
      const e = byCode.get(r.credit_code)!;
      expect(e.flaw === null && !e.longName && ['1', '2'].includes(e.row.status_code)).toBe(true);
    }
    for (const r of changes.renames) expect(r.ent_name).not.toBe(byCode.get(r.credit_code)!.row.ent_name);
    for (const e of changes.newEnterprises) expect(isUscc(e.credit_code) && !byCode.has(e.credit_code)).toBe(true);
    for (const d of changes.deaths) expect(byId.get(d.sfzh)!.row.swbz).toBe(false);
    expect(changes.deaths.some((d) => d.lowIncome)).toBe(true);
    expect(new Set([...changes.deaths, ...changes.moves].map((x) => x.sfzh)).size).toBe(40);
  });
});
