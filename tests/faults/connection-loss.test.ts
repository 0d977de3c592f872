import { fork } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, MYSQL_SERVER, PG_SERVER, type TestDatabase } from '../helpers/databases';
import { ROOT } from '../helpers/exchange';
import { TcpProxy } from './proxy';

/**
 * The smallest form of case 4's failure: a node's database connection drops while a transaction
 * holds it between two statements. The transaction must fail (and be retried by the node), never
 * take the process down. Runs the built adapter in a child process, which would die of an
 * unhandled 'error' event.
 */
const CHILD = `
const { connect, sql } = require(${JSON.stringify(join(ROOT, 'dist', 'adapters'))});
(async () => {
  const db = await connect({ driver: process.argv[2], url: process.argv[3], pool: 2 }, 'connection-loss');
  try {
    await db.transaction(async (tx) => {
      await tx.query(sql.raw('SELECT 1 AS one'));
      process.send('in transaction');
      await new Promise((r) => process.once('message', r)); // the parent has reset the connection
      // the reset was sent before the message: once this turn's I/O is handled, the idle client has seen it
      await new Promise((r) => setImmediate(r));
      await tx.query(sql.raw('SELECT 1 AS one'));
    });
    process.send('committed');
  } catch (err) {
    process.send('transaction failed: ' + err.message);
  }
  await db.close().catch(() => undefined);
  process.exit(0);
})();
`;

describe.each([
  ['PostgreSQL', 'postgres', PG_SERVER],
  ['MariaDB', 'mysql', MYSQL_SERVER],
] as const)('%s connection lost inside a transaction', (_name, driver, server) => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver, 'connloss');
    const url = new URL(server);
    proxy = await TcpProxy.start(url.hostname, Number(url.port));
    dir = mkdtempSync(join(tmpdir(), 'dxg-connloss-'));
    writeFileSync(join(dir, 'child.js'), CHILD);
  });

  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the transaction and keeps the process alive', async () => {
    const url = new URL(server);
    url.port = String(proxy.port);
    url.pathname = `/${db.name}`;
    const messages: string[] = [];
    let stderr = '';
    const child = fork(join(dir, 'child.js'), [driver, url.toString()], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('message', (m) => {
      messages.push(String(m));
      if (m === 'in transaction') {
        proxy.cut();
        child.send('cut');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect({ code, messages, crash: stderr.split('\n').slice(0, 8).join('\n') }).toEqual({
      code: 0,
      messages: ['in transaction', expect.stringMatching(/^transaction failed: /)],
      crash: '',
    });
  });
});
