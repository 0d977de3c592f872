import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertItems, itemExchange, snapshot, validItems, type ItemExchange } from '../helpers/items';
import { PrivateBroker } from './private-broker';
import { makeCa } from '../helpers/certificates';

/** Nodes reach a broker over TLS (amqps://) and verify its certificate against the configured authority. */
describe('a broker reached over TLS', () => {
  let dir: string;
  let broker: PrivateBroker;
  let x: ItemExchange;
  let pem: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dxg-tls-'));
    pem = makeCa(dir);
    broker = await PrivateBroker.start(join(dir, 'broker'), pem);
    x = await itemExchange('tls');
  }, 180_000);

  afterAll(async () => {
    await x?.destroy().catch(() => undefined);
    await broker?.stop();
    broker?.kill();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const configure = (ca: string | null, admin = broker.adminTlsUrl) => {
    const yaml = readFileSync(x.ex.config, 'utf8').replace(/broker:\n(  .*\n)+/, [
      'broker:',
      `  url: amqps://guest:guest@127.0.0.1:${broker.tlsPort}`,
      `  admin: ${admin}`,
      ...(ca ? [`  ca: ${ca}`] : []),
      '',
    ].join('\n'));
    writeFileSync(x.ex.config, yaml);
  };

  it('refuses a management API whose certificate no configured authority signed', async () => {
    configure(null);
    await x.ex.ok('keys', 'generate');
    const r = await x.ex.dxg('init');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach RabbitMQ's management API at https:\/\/127\.0\.0\.1:\d+ \(.*(self[- ]signed|unable to verify|certificate)/i);
  });

  it('refuses a broker whose certificate no configured authority signed', async () => {
    configure(null, broker.adminUrl);
    const r = await x.ex.dxg('init');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to RabbitMQ at amqps:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: .*(self[- ]signed|unable to verify|certificate)/i);
  });

  it('exchanges end to end over amqps:// and an https management API, both certificates verified', async () => {
    configure(pem.ca);
    await x.ex.ok('init');
    await insertItems(x.src, validItems(20));
    await x.ex.ok('run', '--once');
    expect((await snapshot(x.full, 't_full')).size).toBe(20);
  });
});
