import { inChunks, sql, type Sql } from '../../adapters/sql';
import type { SetupConnection } from './server';

/** What the receiving departments' own tables hold after the exchange, read as their systems would. */
export interface Outcomes {
  taxpayers: number;
  /** taxpayers that market regulation no longer lists as active (revoked, deregistered, moved out) */
  taxpayersInactiveAtSource: number;
  qsEnterprises: number;
  residents: number;
  deceased: number;
  /** deceased residents still receiving the low-income allowance: cases for the 低保 review */
  deceasedLowIncome: number;
}

const count = async (c: SetupConnection, statement: Sql) => Number((await c.run(statement))[0]?.n ?? 0);

export async function readOutcomes(c: { amr: SetupConnection; tax: SetupConnection; qs: SetupConnection; civil: SetupConnection }): Promise<Outcomes> {
  const inactive = (await c.amr.run(sql`SELECT credit_code FROM ent_registry WHERE status_code IN ('3', '4', '5')`)).map((r) => String(r.credit_code));
  let taxpayersInactiveAtSource = 0;
  await inChunks(inactive, 500, async (chunk) => {
    taxpayersInactiveAtSource += await count(c.tax, sql`SELECT count(*) AS n FROM tax_taxpayer WHERE nsrsbh IN ${sql.list(chunk)}`);
  });
  const [civil] = await c.civil.run(sql`SELECT count(*) AS n, sum(CASE WHEN deceased THEN 1 ELSE 0 END) AS deceased,
    sum(CASE WHEN deceased AND low_income THEN 1 ELSE 0 END) AS deceased_low_income FROM mz_resident`);
  return {
    taxpayers: await count(c.tax, sql`SELECT count(*) AS n FROM tax_taxpayer`),
    taxpayersInactiveAtSource,
    qsEnterprises: await count(c.qs, sql`SELECT count(*) AS n FROM qs_enterprise`),
    residents: Number(civil.n),
    deceased: Number(civil.deceased ?? 0),
    deceasedLowIncome: Number(civil.deceased_low_income ?? 0),
  };
}
