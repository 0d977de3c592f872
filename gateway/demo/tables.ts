import type { Engine } from './server';

/**
 * The business tables of the demo's departments, as each department's own system would have them:
 * the columns the shipped flows (flows/enterprise-basic.yaml, flows/person-basic.yaml) map, in either
 * engine's dialect, so a department can be moved to the other engine in the config.
 */
export interface BusinessTable {
  name: string;
  ddl: Record<Engine, string[]>;
}

/** Per engine: how a source table's watermark column is kept by the database itself on every write. */
function watermarked(table: string, column: string, key: string): Record<Engine, { column: string; after: string[] }> {
  return {
    postgres: {
      column: `${column} timestamp(6) NOT NULL`,
      after: [
        `CREATE FUNCTION ${table}_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.${column} := now(); RETURN NEW; END $$`,
        `CREATE TRIGGER ${table}_touch BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_touch()`,
        `CREATE INDEX ${table}_changes ON ${table} (${column}, ${key})`,
      ],
    },
    mysql: {
      column: `${column} DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), INDEX ${table}_changes (${column}, ${key})`,
      after: [],
    },
  };
}

const bool = { postgres: 'boolean', mysql: 'TINYINT(1)' } as const;
const stamp = { postgres: 'timestamp(6)', mysql: 'DATETIME(6)' } as const;
const decimal = { postgres: 'numeric(18,4)', mysql: 'DECIMAL(18,4)' } as const;

function table(name: string, columns: (e: Engine) => string, after: (e: Engine) => string[] = () => []): BusinessTable {
  const ddl = (e: Engine) => [`CREATE TABLE ${name} (${columns(e)})`, ...after(e)];
  return { name, ddl: { postgres: ddl('postgres'), mysql: ddl('mysql') } };
}

const entWatermark = watermarked('ent_registry', 'updated_at', 'credit_code');
const personWatermark = watermarked('rk_person', 'gxsj', 'sfzh');

/** 市场监督管理局: the enterprise register, the one authoritative source of enterprise base data. */
const entRegistry = table('ent_registry', (e) => `credit_code varchar(18) PRIMARY KEY, ent_name varchar(200) NOT NULL, legal_rep varchar(50),
  reg_capital ${decimal[e]}, currency char(3), status_code varchar(2) NOT NULL, est_date date, ent_type varchar(50),
  industry_code varchar(5), region_code char(6), address varchar(300), business_scope text, reg_authority varchar(100),
  employees integer, is_listed ${bool[e]}, ${entWatermark[e].column}`, (e) => entWatermark[e].after);

/** A row of the enterprise register (ent_registry) as its DDL allows it, without the watermark the database sets. */
export interface EntRegistryRow {
  credit_code: string;
  ent_name: string;
  legal_rep: string | null;
  reg_capital: string | null;
  currency: string | null;
  status_code: string;
  est_date: string | null;
  ent_type: string | null;
  industry_code: string | null;
  region_code: string | null;
  address: string | null;
  business_scope: string | null;
  reg_authority: string | null;
  employees: number | null;
  is_listed: boolean | null;
}

/**
 * The register's column of each indicator of schemas/enterprise.basic.json, as flows/enterprise-basic.yaml
 * maps them: the bench and the fault-injection suite sync the same register, so their flows map it from here.
 */
export const ENT_REGISTRY_FIELDS = {
  uscc: 'credit_code', name: 'ent_name', legal_rep: 'legal_rep', reg_capital: 'reg_capital', currency: 'currency',
  status: 'status_code', established: 'est_date', ent_type: 'ent_type', industry: 'industry_code', region: 'region_code',
  address: 'address', scope: 'business_scope', reg_authority: 'reg_authority', employees: 'employees', listed: 'is_listed',
  updated_at: 'updated_at',
} as const;

/** 税务局: taxpayer register; the name column is shorter than the indicator allows, as in the real one. */
const taxTaxpayer = table('tax_taxpayer', (e) => `nsrsbh varchar(18) PRIMARY KEY, nsrmc varchar(100), fddbr varchar(50), zczb ${decimal[e]},
  zt varchar(10), clrq date, xzqh char(6), scjydz varchar(300)`);

/** 质量技术监督局 */
const qsEnterprise = table('qs_enterprise', (e) => `uscc varchar(18) PRIMARY KEY, name varchar(200), status varchar(2), industry varchar(5),
  region char(6), address varchar(300), scope text, employees integer, listed ${bool[e]}, source_updated_at ${stamp[e]}`);

/** 公安局: the population register. */
const rkPerson = table('rk_person', (e) => `sfzh char(18) PRIMARY KEY, xm varchar(50), xb char(1), csrq date, mz char(2), hjdqh char(6),
  hjdz varchar(300), hyzk char(2), swbz ${bool[e]} NOT NULL DEFAULT ${e === 'postgres' ? 'false' : '0'}, swrq date, qyzt char(1),
  jyzt varchar(20), dbbz ${bool[e]}, ${personWatermark[e].column}`, (e) => personWatermark[e].after);

/** 民政局: residents as civil affairs needs them for the low-income allowance (低保) review. */
const mzResident = table('mz_resident', (e) => `id_number char(18) PRIMARY KEY, name varchar(50), gender char(1), birth_date date,
  household_region char(6), marital_status char(2), deceased ${bool[e]}, death_date date, low_income ${bool[e]},
  source_updated_at ${stamp[e]}`);

/** The demo's departments, by their id in config/exchange.yaml, and the tables each one's system has. */
export const DEMO_TABLES: Record<string, BusinessTable[]> = {
  amr: [entRegistry],
  tax: [taxTaxpayer],
  qs: [qsEnterprise],
  police: [rkPerson],
  civil: [mzResident],
};
