/**
 * The benchmark's enterprise records: deterministic by index (record i is the same in every run and
 * every part), realistic in shape and size — valid 统一社会信用代码 (GB 32100 check character over a
 * GB 11714 organisation code with its own check character), Chinese names, addresses and business
 * scopes of Qingdao enterprises (the demo's vocabulary and generators), GB/T 4754 industries, exact
 * decimals, NULLs where registers have them.
 */
import { address, orgCheckChar, personName, randomDate, tradeName } from '../gateway/demo/generate';
import { Random } from '../gateway/demo/random';
import { ENT_REGISTRY_FIELDS, type EntRegistryRow } from '../gateway/demo/tables';
import { CITY, COMPANY_FORMS, COMPANY_INDUSTRIES, COOPERATIVES, DISTRICTS, SCOPE_TAIL } from '../gateway/demo/vocabulary';
import { usccCheckChar } from '../gateway/indicators/formats';

export interface Enterprise extends EntRegistryRow {
  updated_at: string;
}

/** Source columns in table order (the COPY column list). */
export const SOURCE_COLUMNS = Object.values(ENT_REGISTRY_FIELDS);

/** indicator → target column (the bench's target table carries every indicator) */
export const TARGET_FIELDS: Record<string, string> = {
  uscc: 'uscc', name: 'name', legal_rep: 'legal_rep', reg_capital: 'reg_capital', currency: 'currency', status: 'status',
  established: 'established', ent_type: 'ent_type', industry: 'industry', region: 'region', address: 'address', scope: 'scope',
  reg_authority: 'reg_authority', employees: 'employees', listed: 'listed', updated_at: 'source_updated_at',
};

/** Farmers' cooperatives among the records (registration type 3); the rest are companies (type 1). */
const COOPERATIVE_SHARE = 0.025;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** A valid 统一社会信用代码, unique for every index below 10^8. */
export function usccFor(index: number, region: string, kind = '1'): string {
  // index → 8 digits, a bijection on [0, 10^8) (48271 is coprime with 10^8), so codes look scattered
  const body = pad((index * 48271 + 13579) % 100_000_000, 8);
  const first17 = `9${kind}${region}${body}${orgCheckChar(body)}`;
  return first17 + usccCheckChar(first17);
}

function date(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` from epoch microseconds (UTC wall clock, as a timestamp without time zone). */
export function timestamp(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  return `${date(ms)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(micros % 1_000_000, 6)}`;
}

export interface Generation {
  /** epoch microseconds of the first and the last record's updated_at */
  fromMicros: number;
  toMicros: number;
  count: number;
}

/** Records' updated_at spread over three years ending a day ago, in index order. */
export function generation(count: number, now = Date.now()): Generation {
  const toMicros = (now - 86_400_000) * 1000;
  return { fromMicros: toMicros - 3 * 365 * 86_400_000_000, toMicros, count };
}

export function enterprise(index: number, gen: Generation): Enterprise {
  // seeded by the index alone, so record i is the same whichever part makes it, in whatever order
  const r = new Random(index * 2654435761 + 1);
  const district = r.pick(DISTRICTS);
  const coop = r.chance(COOPERATIVE_SHARE);
  const industry = r.pick(coop ? COOPERATIVES : COMPANY_INDUSTRIES);
  const form = coop ? null : r.weighted(COMPANY_FORMS);
  const s = r.next();
  const status = s < 0.7 ? '1' : s < 0.8 ? '2' : s < 0.88 ? '3' : s < 0.98 ? '4' : '5';
  const items = industry.scope.split('；');
  const scope = r.chance(0.03) ? null : `一般项目：${r.sample(items, r.int(2, items.length)).join('；')}。${SCOPE_TAIL}`;
  const employees = r.chance(0.05) ? null : Math.floor(Math.exp(r.next() * 8.5)) - 1;
  const capital = r.next();
  const step = (gen.toMicros - gen.fromMicros) / Math.max(1, gen.count);
  const micros = Math.floor(gen.fromMicros + (index + r.next()) * step);
  return {
    credit_code: usccFor(index, district.code, coop ? '3' : '1'),
    ent_name: `${CITY.short}${tradeName(r)}${industry.word}${form?.suffix ?? '专业合作社'}`,
    legal_rep: r.chance(0.01) ? null : personName(r, r.chance(0.5)),
    reg_capital: capital < 0.04 ? null : `${Math.floor(Math.exp(capital * 11))}.${pad(r.int(0, 99), 2)}00`,
    currency: capital < 0.04 ? null : form?.foreign ? r.pick(['USD', 'HKD', 'EUR', 'JPY']) : 'CNY',
    status_code: status,
    est_date: r.chance(0.02) ? null : randomDate(r, '1992-01-01', '2023-12-31'),
    ent_type: form?.type ?? '农民专业合作社',
    industry_code: industry.code,
    region_code: district.code,
    address: address(r, district, false),
    business_scope: scope,
    reg_authority: `${CITY.name}${district.name}市场监督管理局`,
    employees,
    is_listed: r.chance(0.05) ? null : (form?.listed ?? false),
    updated_at: timestamp(micros),
  };
}

/** A change as the writer of the latency part makes it: a new address, head count and status. */
export function change(index: number, serial: number): { address: string; employees: number; status: string } {
  const r = new Random((index ^ (serial * 7919)) + 17);
  return {
    // the serial keeps every change's address new, so each one is a write the target must apply
    address: `${address(r, r.pick(DISTRICTS), false)}（变更${serial}）`,
    employees: Math.floor(Math.exp(r.next() * 8)),
    status: r.pick(['1', '1', '1', '2', '3', '4']),
  };
}

/** A value in COPY's text format (NULL as \\N, booleans as t/f, the four specials escaped). */
export function copyText(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** One line of PostgreSQL COPY text format, columns in SOURCE_COLUMNS order. */
export function copyLine(e: Enterprise): string {
  return SOURCE_COLUMNS.map((c) => copyText(e[c])).join('\t') + '\n';
}

/** The record as the gateway puts it in an envelope (indicator names, JSON types, watermark as version). */
export function wireRecord(e: Enterprise): { key: string; version: string; op: 'upsert'; data: Record<string, unknown> } {
  const data: Record<string, unknown> = {};
  for (const [indicator, column] of Object.entries(ENT_REGISTRY_FIELDS)) data[indicator] = e[column];
  data.updated_at = e.updated_at.replace(' ', 'T');
  const [d, t] = e.updated_at.split(' ');
  const [y, mo, da] = d.split('-').map(Number);
  const [h, mi, sec] = t.split(':');
  const micros = BigInt(Date.UTC(y, mo - 1, da, Number(h), Number(mi), Math.floor(Number(sec)))) * 1000n + BigInt(sec.split('.')[1] ?? '0');
  return { key: e.credit_code, version: micros.toString(), op: 'upsert', data };
}
