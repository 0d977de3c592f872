import { idCheckChar, usccCheckChar } from '../indicators/formats';
import { Random } from './random';
import type { EntRegistryRow } from './tables';
import {
  BIRTH_REGIONS, BRANCH_NAME, CITY, COMPANY_FORMS, COMPANY_INDUSTRIES, COMPOUND_SURNAMES, COOPERATIVES, DISTRICTS, GIVEN,
  SCOPE_TAIL, ORDINALS, SHOPS, SURNAMES, TRADE_NAME_CHARS, type CompanyForm, type District, type Industry,
} from './vocabulary';

/** The scenario's "today": dates are generated up to it, so a seed gives the same data in any year. */
export const AS_OF = '2024-12-31';

/** A row of market regulation's register (ent_registry), as its business system writes it. */
export type Enterprise = EntRegistryRow;

/** A row of public security's population register (rk_person). */
export interface Person {
  sfzh: string;
  xm: string;
  xb: string;
  csrq: string;
  mz: string;
  hjdqh: string;
  hjdz: string;
  hyzk: string;
  swbz: boolean;
  swrq: string | null;
  qyzt: string;
  jyzt: string;
  dbbz: boolean;
}

/** Data errors the gateway must quarantine at the source: the indicator set refuses them. */
export const ENTERPRISE_FLAWS = ['uscc-check', 'one-char-name', 'status-9', 'industry-code'] as const;
export const PERSON_FLAWS = ['id-check', 'gender-3', 'empty-name'] as const;
export type EnterpriseFlaw = (typeof ENTERPRISE_FLAWS)[number];
export type PersonFlaw = (typeof PERSON_FLAWS)[number];

export interface Generated<R, F> {
  row: R;
  flaw: F | null;
}

export interface GeneratedEnterprise extends Generated<Enterprise, EnterpriseFlaw> {
  /** a valid name longer than tax_taxpayer.nsrmc holds: the tax database refuses it (a target-side rejection) */
  longName: boolean;
}

export type GeneratedPerson = Generated<Person, PersonFlaw>;

/** Share of records carrying a data error: enough of each kind to see, few enough to be realistic. */
const FLAWED_SHARE = 0.025;

function flawsPerKind(n: number, kinds: number): number {
  return Math.max(1, Math.round((n * FLAWED_SHARE) / kinds));
}

/** Separate streams per register, so changing the number of persons leaves the enterprises as they were. */
export const streams = {
  enterprises: (seed: number) => new Random(seed),
  persons: (seed: number) => new Random(seed ^ 0x5eed),
  changes: (seed: number) => new Random(seed ^ 0xc4a6e),
};

export function generateEnterprises(n: number, seed: number): GeneratedEnterprise[] {
  const rng = streams.enterprises(seed);
  const taken = { codes: new Set<string>(), names: new Set<string>() };
  const out: GeneratedEnterprise[] = Array.from({ length: n }, () => ({ row: newEnterprise(rng, taken), flaw: null, longName: false }));
  const perKind = flawsPerKind(n, ENTERPRISE_FLAWS.length);
  const flawed = rng.sample(out, perKind * ENTERPRISE_FLAWS.length);
  flawed.forEach((e, i) => {
    e.flaw = ENTERPRISE_FLAWS[i % ENTERPRISE_FLAWS.length];
    spoilEnterprise(rng, e.row, e.flaw, taken.codes);
  });
  const candidates = out.filter((e) => !e.flaw && ['1', '2'].includes(e.row.status_code) && e.row.credit_code[1] === '1');
  for (const e of rng.sample(candidates, Math.max(2, Math.round(n / 400)))) {
    e.longName = true;
    e.row.ent_name = branchName(rng, e.row.ent_name);
  }
  return out;
}

export function generatePersons(n: number, seed: number): GeneratedPerson[] {
  const rng = streams.persons(seed);
  const taken = new Set<string>();
  const out: GeneratedPerson[] = Array.from({ length: n }, () => ({ row: newPerson(rng, taken), flaw: null }));
  const perKind = flawsPerKind(n, PERSON_FLAWS.length);
  rng.sample(out, perKind * PERSON_FLAWS.length).forEach((p, i) => {
    p.flaw = PERSON_FLAWS[i % PERSON_FLAWS.length];
    spoilPerson(p.row, p.flaw, taken);
  });
  return out;
}

// --- enterprises ---

const CAPITALS = ['100', '50', '500', '200', '1000', '10', '300', '30', '2000', '5000', '3000', '10000', '20000'];

export function newEnterprise(rng: Random, taken: { codes: Set<string>; names: Set<string> }, asOf = AS_OF): Enterprise {
  const kind = rng.weighted([['1', 80], ['2', 15], ['3', 5]] as const);
  const district = rng.pick(DISTRICTS);
  const established = randomDate(rng, '1995-01-01', asOf);
  const industry = rng.pick(kind === '1' ? COMPANY_INDUSTRIES : kind === '2' ? SHOPS : COOPERATIVES);
  const form = kind === '1' ? rng.weighted(COMPANY_FORMS) : null;
  let name: string;
  do name = enterpriseName(rng, kind, district, industry, form);
  while (taken.names.has(name));
  taken.names.add(name);
  return {
    // codes with an "MA" organisation part are those issued since the credit code reform of late 2015
    credit_code: newUscc(rng, kind, district.code, established >= '2015-10-01', taken.codes),
    ent_name: name,
    legal_rep: personName(rng, rng.chance(0.5)),
    reg_capital: capital(rng, kind),
    currency: form?.foreign ? rng.pick(['USD', 'HKD', 'EUR', 'JPY']) : 'CNY',
    status_code: rng.weighted([['1', 55], ['2', 30], ['3', 6], ['4', 6], ['5', 3]] as const),
    est_date: established,
    ent_type: form?.type ?? (kind === '2' ? '个体工商户' : '农民专业合作社'),
    industry_code: industry.code,
    region_code: district.code,
    address: address(rng, district, false),
    business_scope: industry.scope + SCOPE_TAIL,
    reg_authority: `${district.name.endsWith('市') ? '' : CITY.name}${district.name}市场监督管理局`,
    employees: kind === '2' ? rng.int(1, 8) : kind === '3' ? rng.int(5, 60) : 3 + Math.round(800 * rng.next() ** 3),
    is_listed: form?.listed ?? false,
  };
}

function enterpriseName(rng: Random, kind: string, district: District, industry: Industry, form: CompanyForm | null): string {
  const trade = tradeName(rng);
  if (kind === '2') return `${CITY.name}${district.name}${trade}${industry.word}`;
  if (kind === '3') return `${district.name}${trade}${industry.word}专业合作社`;
  return `${CITY.short}${trade}${industry.word}${form!.suffix}`;
}

/** A new name for a company (名称变更): another trade name, the same line of business and legal form. */
export function renamedCompany(rng: Random, e: Enterprise, taken: Set<string>): string {
  const industry = COMPANY_INDUSTRIES.find((i) => i.code === e.industry_code) ?? rng.pick(COMPANY_INDUSTRIES);
  const suffix = COMPANY_FORMS.map(([f]) => f.suffix).sort((a, b) => b.length - a.length).find((s) => e.ent_name.endsWith(s)) ?? '有限公司';
  let name: string;
  do name = `${CITY.short}${tradeName(rng)}${industry.word}${suffix}`;
  while (taken.has(name) || name === e.ent_name);
  taken.add(name);
  return name;
}

export function tradeName(rng: Random): string {
  const [a, b] = rng.sample(TRADE_NAME_CHARS, 2);
  return a + b;
}

/** A branch of a company in the free-trade zone: a valid name that only a shorter column refuses. */
function branchName(rng: Random, company: string): string {
  return company + BRANCH_NAME.replace('{n}', rng.pick(ORDINALS));
}

/** 统一社会信用代码: authority 9 (market regulation), the registration type, the region, an organisation code, the check character. */
function newUscc(rng: Random, kind: string, region: string, reformed: boolean, taken: Set<string>): string {
  for (;;) {
    const body = reformed
      ? `MA${Array.from({ length: 6 }, () => rng.pick(USCC_BODY)).join('')}`
      : `${rng.int(1, 9)}${Array.from({ length: 7 }, () => rng.int(0, 9)).join('')}`;
    const first17 = `9${kind}${region}${body}${orgCheckChar(body)}`;
    const code = first17 + usccCheckChar(first17);
    if (!taken.has(code)) {
      taken.add(code);
      return code;
    }
  }
}

const USCC_BODY = '0123456789ABCDEFGHJKLMNPQRTUWXY'.split('');
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/** Check character of a GB 11714 organisation code (its 9th character, also inside the credit code). */
export function orgCheckChar(first8: string): string {
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += parseInt(first8[i], 36) * ORG_WEIGHTS[i];
  const c = 11 - (sum % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

function capital(rng: Random, kind: string): string | null {
  if (kind === '2') return rng.chance(0.3) ? null : `${rng.int(1, 50)}.0000`;
  if (kind === '3') return `${rng.int(5, 80) * 10}.0000`;
  // a few registered capitals are not round: paid in a foreign currency, or after a capital change
  if (rng.chance(0.1)) return `${rng.int(10, 9999)}.${String(rng.int(1, 9999)).padStart(4, '0')}`;
  return `${rng.pickSkewed(CAPITALS)}.0000`;
}

function spoilEnterprise(rng: Random, e: Enterprise, flaw: EnterpriseFlaw, codes: Set<string>): void {
  switch (flaw) {
    case 'uscc-check': {
      // a mistyped last character: the check character no longer matches
      const i = USCC_BODY.indexOf(e.credit_code[17]);
      let code: string;
      let step = 1;
      do code = e.credit_code.slice(0, 17) + USCC_BODY[(i + step++) % USCC_BODY.length];
      while (codes.has(code));
      codes.add(code);
      e.credit_code = code;
      return;
    }
    case 'one-char-name':
      // the name cut down to one character, as a broken import leaves it
      e.ent_name = rng.pick(TRADE_NAME_CHARS);
      return;
    case 'status-9':
      e.status_code = '9';
      return;
    case 'industry-code': {
      const code = e.industry_code;
      if (!code) return;
      e.industry_code = rng.pick([code.slice(1), code.toLowerCase(), `${code.slice(0, 2)}${String.fromCharCode(0xff10 + Number(code[2]))}${code.slice(3)}`]);
      return;
    }
  }
}

// --- persons ---

const DECADES: readonly (readonly [number, number])[] = [
  [1930, 2], [1940, 5], [1950, 11], [1960, 16], [1970, 15], [1980, 15], [1990, 13], [2000, 10], [2010, 10], [2020, 3],
];
const ETHNICITIES: readonly (readonly [string, number])[] = [
  ['01', 930], ['03', 15], ['11', 12], ['08', 8], ['02', 6], ['10', 8], ['06', 4], ['05', 3], ['04', 3], ['07', 3], ['09', 2], ['97', 1],
];

function newPerson(rng: Random, taken: Set<string>): Person {
  const male = rng.chance(0.5);
  const decade = rng.weighted(DECADES);
  const birth = randomDate(rng, `${decade}-01-01`, decade === 2020 ? '2024-06-30' : `${decade + 9}-12-31`);
  const age = ageOn(birth, AS_OF);
  const district = rng.pick(DISTRICTS);
  const deceased = rng.chance(age >= 75 ? 0.08 : age >= 50 ? 0.015 : 0.002);
  const employment = employmentOf(rng, age);
  const lowIncomeOdds = 0.015 + (['无业', '失业'].includes(employment) ? 0.1 : 0) + (age >= 70 ? 0.04 : 0);
  return {
    sfzh: newIdNumber(rng, birth, male, taken),
    xm: personName(rng, male),
    xb: male ? '1' : '2',
    csrq: birth,
    mz: rng.weighted(ETHNICITIES),
    hjdqh: district.code,
    hjdz: address(rng, district, true),
    hyzk: maritalStatus(rng, age),
    swbz: deceased,
    swrq: deceased ? randomDate(rng, laterOf(birth, '2010-01-01'), AS_OF) : null,
    qyzt: rng.weighted([['0', 90], ['1', 8], ['2', 2]] as const),
    jyzt: employment,
    dbbz: rng.chance(lowIncomeOdds),
  };
}

/** 公民身份号码: region of issue, birth date, a sequence whose last digit is odd for men, the check character. */
function newIdNumber(rng: Random, birth: string, male: boolean, taken: Set<string>): string {
  for (;;) {
    const sequence = `${String(rng.int(0, 99)).padStart(2, '0')}${rng.pick(male ? [1, 3, 5, 7, 9] : [0, 2, 4, 6, 8])}`;
    const first17 = `${rng.weighted(BIRTH_REGIONS)}${birth.replace(/-/g, '')}${sequence}`;
    const id = first17 + idCheckChar(first17);
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
}

export function personName(rng: Random, male: boolean): string {
  const surname = rng.chance(0.01) ? rng.pick(COMPOUND_SURNAMES) : rng.pickSkewed(SURNAMES);
  const pool = [...(male ? GIVEN.male : GIVEN.female), ...GIVEN.either];
  const given = rng.chance(0.65) ? rng.pick(GIVEN.either) + rng.pick(pool) : rng.pick(pool);
  return surname + given;
}

/** GB/T 2261.2 marital status, by age. */
function maritalStatus(rng: Random, age: number): string {
  if (age < 20) return '10';
  if (age < 30) return rng.weighted([['10', 55], ['20', 30], ['21', 12], ['40', 3]] as const);
  if (age < 70) return rng.weighted([['20', 55], ['21', 20], ['22', 6], ['23', 1], ['10', 7], ['40', 8], ['30', 3]] as const);
  return rng.weighted([['20', 50], ['21', 10], ['30', 35], ['40', 3], ['90', 2]] as const);
}

function employmentOf(rng: Random, age: number): string {
  if (age < 6) return '学龄前儿童';
  if (age < 18) return '在校学生';
  if (age < 23) return rng.weighted([['在校学生', 60], ['在业', 30], ['无业', 10]] as const);
  if (age < 60) return rng.weighted([['在业', 70], ['灵活就业', 12], ['失业', 6], ['无业', 12]] as const);
  return rng.weighted([['退休', 75], ['无业', 20], ['在业', 5]] as const);
}

function spoilPerson(p: Person, flaw: PersonFlaw, taken: Set<string>): void {
  switch (flaw) {
    case 'id-check': {
      // a mistyped check digit, as a clerk might key it in
      let id = p.sfzh;
      do id = id.slice(0, 17) + (id[17] === 'X' ? '0' : id[17] === '9' ? 'X' : String(Number(id[17]) + 1));
      while (taken.has(id));
      taken.add(id);
      p.sfzh = id;
      return;
    }
    case 'gender-3':
      p.xb = '3';
      return;
    case 'empty-name':
      p.xm = '';
      return;
  }
}

// --- shared ---

export function address(rng: Random, district: District, home: boolean): string {
  const street = `${CITY.province}${CITY.name}${district.name}${rng.pick(district.streets)}${rng.int(1, 300)}号`;
  if (home) return `${street}${rng.int(1, 30)}号楼${rng.int(1, 4)}单元${rng.int(1, 18)}${String(rng.int(1, 4)).padStart(2, '0')}户`;
  return rng.chance(0.5) ? `${street}${rng.int(1, 30)}号楼${rng.int(1, 28)}${String(rng.int(1, 20)).padStart(2, '0')}室` : street;
}

/** A day in [from, to], both `YYYY-MM-DD`. */
export function randomDate(rng: Random, from: string, to: string): string {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  return new Date(a + rng.int(0, Math.round((b - a) / 86_400_000)) * 86_400_000).toISOString().slice(0, 10);
}

function laterOf(a: string, b: string): string {
  return a > b ? a : b;
}

export function ageOn(birth: string, day: string): number {
  const years = Number(day.slice(0, 4)) - Number(birth.slice(0, 4));
  return day.slice(5) < birth.slice(5) ? years - 1 : years;
}
