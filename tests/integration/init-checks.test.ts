/**
 * What `dxg init` says of a flow against the source's catalog beyond what makes it fail: a source key
 * the table does not hold unique is a warning (a legacy table may lack the constraint and still hold
 * one row per key), said with the place in the flow's YAML, and logged by the node that reads it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from '../../adapters/sql';
import { createMysql, createPostgres, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';
import { createSource, createTargets, ITEM_SET, itemFlow } from '../helpers/items';

describe.each(['postgres', 'mysql'] as const)('dxg init on a %s source', (driver) => {
  let dbs: TestDatabase[] = [];
  let ex: TestExchange;
  let src: TestDatabase;
  beforeAll(async () => {
    const create = driver === 'postgres' ? createPostgres : createMysql;
    const [s, full, part] = await Promise.all([create('ksrc'), createPostgres('kfull'), createPostgres('kpart')]);
    src = s;
    dbs = [s, full, part];
    await createSource(src);
    await createTargets(full, part);
    ex = new TestExchange({ src: { driver, url: src.url }, full: { driver: 'postgres', url: full.url }, part: { driver: 'postgres', url: part.url } },
      { items: itemFlow('src', 'full', 'part') }, { 'test.item': ITEM_SET });
  });
  afterAll(async () => {
    await ex?.destroy();
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('says nothing of a key the table declares unique', async () => {
    await ex.ok('keys', 'generate');
    expect(await ex.ok('init')).not.toMatch(/warning/);
  });

  it('names the table of a like name when a flow names one the database does not hold', async () => {
    const file = join(ex.dir, 'flows', 'items.yaml');
    const flow = readFileSync(file, 'utf8');
    writeFileSync(file, flow.replace('  table: src_item\n', '  table: src_itme\n'));
    try {
      const init = await ex.dxg('init');
      expect(init.code).toBe(1);
      expect(init.stderr).toMatch(/items\.yaml:6:10: table 'src_itme' does not exist in the database of department 'src' \(did you mean 'src_item'\?\)/);
    } finally {
      writeFileSync(file, flow);
    }
  });

  it('warns, at the flow\'s key, of a key the table does not hold unique, and the exchange still runs', async () => {
    await src.execute(sql.raw(driver === 'postgres' ? 'ALTER TABLE src_item DROP CONSTRAINT src_item_pkey' : 'ALTER TABLE src_item DROP PRIMARY KEY'));
    const out = await ex.ok('init');
    expect(out).toMatch(/warning: \S*items\.yaml:7:8: source\.key \(code\) is not unique in table 'src_item'.*the newer replaces the older at every target/);
    const level = process.env.DXG_LOG_LEVEL;
    process.env.DXG_LOG_LEVEL = 'warn';
    try {
      const run = await ex.dxg('run', '--once');
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("source.key (code) is not unique in table 'src_item'");
    } finally {
      process.env.DXG_LOG_LEVEL = level;
    }
  });
});
