import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROKER_URL } from '../helpers/exchange';
import { freePort } from '../helpers/ports';
import { insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';

/** A port nothing listens on: the node of a cluster that is down. */
const deadPort = freePort;

/**
 * broker.url may list a cluster's nodes: a node (and every command) whose first URL is down connects
 * through the next. The fault suite kills a real cluster's node mid-sync (tests/faults/cluster.test.ts);
 * this is the cheap check, against the machine's broker behind a dead first address.
 */
describe('broker.url listing several nodes', () => {
  let x: ItemExchange;
  let dead: string;

  beforeAll(async () => {
    x = await itemExchange('bf');
    dead = `amqp://guest:guest@127.0.0.1:${await deadPort()}`;
    const yaml = readFileSync(x.ex.config, 'utf8');
    writeFileSync(x.ex.config, yaml.replace(/  url: amqp[^\n]*\n/, `  url: ${dead}, ${BROKER_URL}\n`));
  });

  afterAll(async () => {
    await x?.destroy();
  });

  it('connects through the second URL when the first is down, for dxg init and for the nodes', async () => {
    await x.ex.ok('validate');
    await x.ex.setUp();
    await insertItems(x.src, validItems(30));
    await x.ex.ok('run', '--once');
    expect((await snapshot(x.full, 't_full')).size).toBe(30);
  });

  it('names every URL it tried, passwords masked, when none answers', async () => {
    const config = readFileSync(x.ex.config, 'utf8');
    const ports = [await deadPort(), await deadPort()];
    try {
      writeFileSync(x.ex.config, config.replace(/  url: amqp[^\n]*\n/, `  url: ${ports.map((p) => `amqp://guest:guest@127.0.0.1:${p}`).join(',')}\n`));
      const r = await x.ex.dxg('run', '--once');
      expect(r.code).not.toBe(0);
      // the nodes connect as their department's user, with its password, in every URL of the list
      expect(r.stderr).toMatch(new RegExp(`cannot connect to RabbitMQ at any of ${ports.map((p) => `amqp://[\\w.%-]+:\\*\\*\\*@127\\.0\\.0\\.1:${p}`).join(', ')}`));
      const password = readFileSync(join(x.ex.dir, 'keys', 'src.broker'), 'utf8').trim();
      expect(r.stderr).not.toContain(encodeURIComponent(password));
      expect(r.stderr).not.toContain(password);
    } finally {
      writeFileSync(x.ex.config, config);
    }
  });
});
