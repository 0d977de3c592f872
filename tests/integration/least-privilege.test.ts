import { connect } from '../../adapters';
import { sql } from '../../adapters/sql';
import { createPostgres, createTestDatabase, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';
import { createSource, createTargets, insertItems, ITEM_SET, itemFlow, snapshot, validItems } from '../helpers/items';

/**
 * The node database user the README documents: it reads the source tables, writes the target
 * tables and its own dxg_ tables, and nothing else. `dxg init` runs once as the database's owner;
 * the nodes then run as that user.
 */
const grants: Record<'postgres' | 'mysql', { create(user: string): string[]; grant(user: string, db: string, reads: string[], writes: string[], dxgTables: string[]): string[]; drop(user: string): string[] }> = {
  postgres: {
    create: (user) => [`CREATE ROLE ${user} LOGIN PASSWORD 'node-secret'`],
    grant: (user, db, reads, writes, dxgTables) => [
      `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${user}`,
      `GRANT USAGE ON SCHEMA public TO ${user}`,
      `GRANT pg_read_all_stats TO ${user}`,
      ...reads.map((t) => `GRANT SELECT ON ${t} TO ${user}`),
      ...[...writes, ...dxgTables].map((t) => `GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${user}`),
    ],
    drop: (user) => [`DROP OWNED BY ${user}`],
  },
  mysql: {
    create: (user) => [`CREATE USER '${user}'@'%' IDENTIFIED BY 'node-secret'`, `GRANT PROCESS ON *.* TO '${user}'@'%'`],
    grant: (user, db, reads, writes, dxgTables) => [
      ...reads.map((t) => `GRANT SELECT ON \`${db}\`.\`${t}\` TO '${user}'@'%'`),
      ...[...writes, ...dxgTables].map((t) => `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.\`${t}\` TO '${user}'@'%'`),
    ],
    drop: (user) => [`DROP USER IF EXISTS '${user}'@'%'`],
  },
};

const dxgTables = async (db: TestDatabase) =>
  (await db.query<{ name: string }>(sql`SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'dxg\\_%' AND table_schema = ${db.driver === 'postgres' ? 'public' : db.name}`)).map((r) => r.name);

/** The same URL as another user. */
const as = (url: string, user: string) => {
  const u = new URL(url);
  u.username = user;
  u.password = 'node-secret';
  return u.toString();
};

describe.each(['postgres', 'mysql'] as const)('a flow run by least-privilege node users on %s', (driver) => {
  const user = `dxgt_node_${driver.slice(0, 2)}_${process.pid}`;
  const dbs: TestDatabase[] = [];
  let ex: TestExchange;
  let src: TestDatabase;
  let full: TestDatabase;
  const env = { src: `DXGT_SRC_URL_${driver}`, full: `DXGT_FULL_URL_${driver}` };

  beforeAll(async () => {
    [src, full] = await Promise.all([createTestDatabase(driver, 'lpsrc'), createTestDatabase(driver, 'lpfull')]);
    const part = await createPostgres('lppart');
    dbs.push(src, full, part);
    await createSource(src);
    await createTargets(full, part);
    ex = new TestExchange(
      { src: { driver, url: `\${${env.src}}` }, full: { driver, url: `\${${env.full}}` }, part: { driver: 'postgres', url: part.url } },
      { items: itemFlow('src', 'full', 'part') }, { 'test.item': ITEM_SET });
    // dxg init, once, as the owner of the databases
    process.env[env.src] = src.url;
    process.env[env.full] = full.url;
    await ex.setUp();
    await src.run(grants[driver].drop(user)[0]).catch(() => undefined);
    for (const statement of grants[driver].create(user)) await src.run(statement);
    for (const statement of grants[driver].grant(user, src.name, ['src_item'], [], await dxgTables(src))) await src.run(statement);
    for (const statement of grants[driver].grant(user, full.name, [], ['t_full'], await dxgTables(full))) await full.run(statement);
    process.env[env.src] = as(src.url, user);
    process.env[env.full] = as(full.url, user);
  });

  afterAll(async () => {
    await ex?.destroy();
    for (const db of [src, full]) for (const statement of grants[driver].drop(user)) await db?.run(statement).catch(() => undefined);
    if (driver === 'postgres') await src?.run(`DROP ROLE IF EXISTS ${user}`).catch(() => undefined);
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('exchanges end to end', async () => {
    await insertItems(src, validItems(4));
    await ex.ok('run', '--once');
    expect([...(await snapshot(full, 't_full')).keys()].sort()).toEqual(['AB0000', 'AB0001', 'AB0002', 'AB0003']);
    expect(await ex.ok('status')).toMatch(/items\s.*full/);
  });

  it('cannot write the source table', async () => {
    const node = await connect({ driver, url: as(src.url, user), pool: 1 }, 'least-privilege test');
    try {
      expect((await node.query(sql`SELECT count(*) AS n FROM src_item`))[0]).toEqual({ n: expect.anything() });
      for (const write of [
        sql`INSERT INTO src_item (code, title, status) VALUES ('ZZ9999', 'forged', '1')`,
        sql`UPDATE src_item SET title = 'changed'`,
        sql`DELETE FROM src_item`,
      ]) await expect(node.execute(write)).rejects.toThrow(/denied/i);
    } finally {
      await node.close();
    }
    expect((await snapshot(src, 'src_item')).size).toBe(4);
  });
});
