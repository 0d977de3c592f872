import { checkSourceQuery } from '../../adapters';

/** A source `query:` is checked by a real parser of its engine's SQL before anything wraps or runs it. */
describe.each(['postgres', 'mysql', 'mssql'])('a source query on %s', (driver) => {
  const check = (query: string) => checkSourceQuery(driver, query);

  it.each([
    'SELECT credit_code, ent_name, updated_at FROM ent_registry',
    "SELECT credit_code FROM ent_registry WHERE ent_name = 'a?b' AND status_code IN ('1', '2')",
    'WITH active AS (SELECT credit_code, updated_at FROM ent_registry) SELECT credit_code, updated_at FROM active',
    'SELECT credit_code, updated_at FROM ent_registry UNION ALL SELECT credit_code, updated_at FROM ent_history',
    'SELECT e.credit_code, CAST(e.reg_capital AS CHAR(20)) AS capital FROM ent_registry e JOIN ent_extra x ON x.code = e.credit_code',
  ])('takes %s', async (query) => {
    expect(await check(query)).toBeNull();
  });

  it.each([
    ['SELECT credit_code FROM ent_registry) AS q; DELETE FROM ent_registry; SELECT * FROM (SELECT 1', /parse|one statement/],
    ['SELECT 1; DELETE FROM ent_registry', /one statement, not 2|parse/],
    ['DELETE FROM ent_registry', /SELECT statement, not DELETE|parse/],
    ['UPDATE ent_registry SET ent_name = NULL', /SELECT statement, not UPDATE|parse/],
    ['SELECT credit_code INTO copy_of_registry FROM ent_registry', /SELECT … INTO|parse/],
  ])('refuses %s', async (query, reason) => {
    expect(await check(query)).toMatch(reason);
  });
});

describe('PostgreSQL source queries', () => {
  it('keep its own operators and casts', async () => {
    expect(await checkSourceQuery('postgres', "SELECT id, doc->>'name' AS name, updated_at::timestamp(6) FROM docs WHERE tags ? 'x' AND doc @> '{\"a\":1}'")).toBeNull();
  });

  it('may not write through a CTE or lock rows', async () => {
    expect(await checkSourceQuery('postgres', 'WITH gone AS (DELETE FROM ent_registry RETURNING *) SELECT * FROM gone')).toBe('must only read, but contains DELETE');
    expect(await checkSourceQuery('postgres', 'SELECT * FROM ent_registry FOR UPDATE')).toBe('must not lock rows (FOR UPDATE / FOR SHARE)');
  });
});

describe('MySQL/MariaDB source queries', () => {
  it('may not write a file or lock rows', async () => {
    expect(await checkSourceQuery('mysql', "SELECT * FROM ent_registry INTO OUTFILE '/tmp/registry'")).toBe('must only read, but has SELECT … INTO');
    expect(await checkSourceQuery('mysql', 'SELECT * FROM ent_registry FOR UPDATE')).toBe('must not lock rows (FOR UPDATE)');
  });
});
