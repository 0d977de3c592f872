import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/broker';
import { makeCa } from '../helpers/certificates';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { itemExchange, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';

/** With centre.tls the centre serves https only; the command line trusts a private authority through NODE_EXTRA_CA_CERTS. */
describe('the centre over https', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let dir: string;
  let pem: { ca: string; cert: string; key: string };
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dxg-centre-tls-'));
    pem = makeCa(dir);
    x = await itemExchange('ct');
    centreDb = await createTestDatabase('postgres', 'ctcentre');
    port = await freePort();
    x.ex.addCentre({ databaseUrl: centreDb.url, port, tls: { cert: pem.cert, key: pem.key } });
    await x.ex.setUp();
  });

  afterAll(async () => {
    await x?.destroy();
    await centreDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers https with its certificate, and the command line reaches it with the authority', async () => {
    const centre = x.ex.centre();
    try {
      const health = (ca?: Buffer) => new Promise<number>((resolve, reject) => {
        get(`https://127.0.0.1:${port}/health`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
      const ca = readFileSync(pem.ca);
      expect(await waitFor('the centre over https', () => health(ca).catch(() => 0).then((s) => s === 200), 60_000)).toBe(true);
      await expect(health()).rejects.toThrow(/self.signed|unable to verify/i);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

      const saved = { ...process.env };
      try {
        process.env.DXG_CENTRE_TOKEN = 'not-a-token';
        const untrusted = await x.ex.dxg('status', '--centre');
        expect(untrusted.code).toBe(1);
        expect(untrusted.stderr).toMatch(/cannot reach the centre at https:\/\/127\.0\.0\.1:\d+: .*certificate/);
        process.env.NODE_EXTRA_CA_CERTS = pem.ca;
        const trusted = await x.ex.dxg('status', '--centre');
        expect(trusted.code).toBe(1);
        expect(trusted.stderr).toContain('token unknown or expired');
      } finally {
        process.env = saved;
      }
    } finally {
      await centre.stop();
    }
  });
});
