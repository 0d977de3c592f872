import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../adapters/adapter';
import { render, sql, type Sql } from '../../adapters/sql';
import { createBookkeeping } from '../../gateway/bookkeeping/schema';
import { Keyring } from '../../gateway/envelope/keys';
import { Ledger, verifyLedger } from '../../gateway/ledger/ledger';
import { createPostgres, type TestDatabase } from '../helpers/databases';

/** The ledger of a live exchange: verified while a node keeps appending to it. */
describe('ledger verification', () => {
  let server: TestDatabase;
  let db: Database;
  let keys: string;
  let keyring: Keyring;
  let ledger: Ledger;
  const append = (n: number) => db.transaction((tx) => ledger.append(tx, Array.from({ length: n }, (_, i) => ({ kind: 'extract' as const, flow: 'f', count: i }))));

  beforeAll(async () => {
    server = await createPostgres('ledger');
    db = server.db;
    await createBookkeeping(db);
    keys = mkdtempSync(join(tmpdir(), 'dxg-ledger-keys-'));
    keyring = new Keyring(keys);
    keyring.generate(['a']);
    ledger = new Ledger(keyring, 'a');
    await append(30);
  });

  afterAll(async () => {
    await server?.drop();
    rmSync(keys, { recursive: true, force: true });
  });

  it('is not fooled into reporting tampering by entries appended while it reads', async () => {
    // a node commits new entries (and the head with them) just after the check has read its first page
    let appended = false;
    const live: Database = Object.create(db, {
      query: {
        value: async (statement: Sql) => {
          const rows = await db.query(statement);
          if (!appended && render(statement, db.sql.renderer).text.includes('FROM dxg_ledger WHERE seq')) {
            appended = true;
            await append(5);
          }
          return rows;
        },
      },
    });
    expect(await verifyLedger(live, keyring, 'a', 10)).toMatchObject({ checked: 30, head: { seq: '30' } });
    expect(appended).toBe(true);
    expect(await verifyLedger(db, keyring, 'a')).toMatchObject({ checked: 35, head: { seq: '35' } });
  });

  it('finds trailing entries removed, an altered entry and a missing one', async () => {
    await db.execute(sql`DELETE FROM dxg_ledger WHERE seq = 35`);
    expect((await verifyLedger(db, keyring, 'a')).broken?.reason).toBe('entries after the last one present were removed (head does not match)');
    await db.execute(sql`UPDATE dxg_ledger SET record_count = 99 WHERE seq = 12`);
    expect(await verifyLedger(db, keyring, 'a')).toEqual({ checked: 11, broken: { seq: '12', reason: 'content does not match its hash (altered)' } });
    await db.execute(sql`DELETE FROM dxg_ledger WHERE seq = 7`);
    expect(await verifyLedger(db, keyring, 'a')).toEqual({ checked: 6, broken: { seq: '7', reason: 'entry 7 is missing (next is 8)' } });
  });
});
