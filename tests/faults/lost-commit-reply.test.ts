import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyGateway, type GatewayCopy } from './gateway-copy';
import { FaultExchange } from './harness';
import { PrivateBroker } from './private-broker';
import { verify } from './verify';

/**
 * The smallest form of case 4's occasional hang: a target's COMMIT reaches its database and is
 * done, but the connection drops before the answer comes back. The node retries, finds the message
 * in its inbox (applied), and must still deliver the receipt that the committed transaction put in
 * its outbox: every message gets its receipt without restarting anything.
 */
const ROWS = 3000;
let dir: string;
let broker: PrivateBroker | undefined;
let gateway: GatewayCopy;
let fx: FaultExchange | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dxg-lostcommit-'));
  gateway = await copyGateway(join(dir, 'gateway'));
  broker = await PrivateBroker.start(join(dir, 'broker'));
}, 120_000);

afterAll(async () => {
  await fx?.destroy();
  await broker?.stop();
  broker?.kill();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('delivers the receipt of an apply whose COMMIT answer was lost', async () => {
  fx = await FaultExchange.create({ name: 'lost-commit', broker: broker!, gateway, dir, seed: 7, proxied: true, flow: { batchSize: 100 } });
  await fx.load(ROWS);
  await fx.source.start();
  await fx.whenExtracted();
  const qsProxy = fx.proxies[0];
  const cut = qsProxy.cutAtNext('COMMIT');
  await fx.target.start();
  await cut;
  let failure = '';
  let quietSince = '';
  try {
    ({ quietSince } = await fx.converge({ timeoutMs: 60_000, stallMs: 30_000 }));
  } catch (err) {
    failure = `${(err as Error).message}\n${fx.logTails(8)}`;
  }
  expect(failure).toBe('');
  expect((await verify(fx, quietSince)).problems).toEqual([]);
}, 180_000);
