import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { sql } from '../../adapters/sql';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { ALGORITHM } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { canonical, chainHash, verifyLedger, type LedgerEntry, type StoredEntry } from '../../gateway/ledger/ledger';
import { centreCopies, Feed, waitingAtCentre } from '../helpers/feed';
import { BROKER_URL, TestExchange, type Background } from '../helpers/exchange';
import { departmentBrokerUrl, waitFor } from '../helpers/broker';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { createSource, createTargets, ITEM_SET, itemFlow } from '../helpers/items';
import { freePort } from '../helpers/ports';

/**
 * The centre's collector attacked by hostile departments (each holding only its own broker user and
 * its own signing key) and by a faulty network (messages late, twice, out of order; the centre killed
 * mid-batch). The departments' ledgers are the product's own (Ledger.append in each department
 * database) wherever the attack allows; what a hostile department sends beyond its ledger is built
 * here and published as that department's broker user.
 *
 * The invariant checked everywhere: the part of a department's copy the centre calls complete and
 * checked (`centre_departments.contiguous`) is, read back from the centre's own database, a chain of
 * entries each matching its hash and carrying its department's signature, equal to what the
 * department's ledger holds; and the record-key index holds exactly the keys of those entries.
 *
 * Departments: src, full, part (the items flow), and h1..h6, one hostile department per attack (a
 * ledger break is sticky, so each attack that breaks a copy gets a department of its own).
 */
const EXTRA = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;
const ALL = ['src', 'full', 'part', ...EXTRA] as const;
type Dept = (typeof ALL)[number];

const COLUMNS = ['seq', 'at', 'kind', 'flow', 'message_id', 'from_dept', 'to_dept', 'record_count', 'digest', 'record_keys', 'detail', 'algorithm', 'prev_hash', 'hash', 'signature'] as const;
const ZERO = '0'.repeat(64);

describe('exchange centre collector under attack', () => {
  let ex: TestExchange;
  const dbs = new Map<Dept, TestDatabase>();
  let centreDb: TestDatabase;
  let base: string;
  let topology: Topology;
  let keyring: Keyring;
  let centre: Background | null = null;
  const feeds = new Map<Dept, Feed>();
  const feed = (d: Dept) => feeds.get(d)!;
  const copyStates = () => centreCopies(centreDb);
  const waiting = () => waitingAtCentre(topology);
  /** what each attack left, filled by the phase that ran it */
  const facts: Record<string, unknown> = {};

  beforeAll(async () => {
    const made = await Promise.all(ALL.map((d) => createTestDatabase('postgres', `ch${d}`)));
    ALL.forEach((d, i) => dbs.set(d, made[i]));
    await createSource(dbs.get('src')!);
    await createTargets(dbs.get('full')!, dbs.get('part')!);
    centreDb = await createTestDatabase('postgres', 'chcentre');
    const departments = Object.fromEntries(ALL.map((d) => [d, { driver: 'postgres' as const, url: dbs.get(d)!.url }]));
    ex = new TestExchange(departments, { items: itemFlow('src', 'full', 'part') }, { 'test.item': ITEM_SET });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ex.addCentre({ databaseUrl: centreDb.url, port, silentAfter: '1h' });
    await ex.setUp();
    const { config } = loadProject(ex.config).project!;
    topology = Topology.of(config);
    keyring = new Keyring(config.dirs.keys);
    // the centre's first start declares its queue, bound to the feed: what the departments send from now on waits there
    await startCentre();
    await stopCentre();
    for (const d of ALL) feeds.set(d, await Feed.open(departmentBrokerUrl(ex, d), topology, keyring, d, dbs.get(d)!));
  }, 120_000);

  afterAll(async () => {
    await stopCentre();
    for (const f of feeds.values()) await f.close();
    await ex?.destroy();
    for (const db of dbs.values()) await db.drop();
    await centreDb?.drop();
  });

  // ---------------------------------------------------------------------------------------------
  // Phase A: a backlog of hostile messages waits while the centre is stopped, then is taken at once.
  // ---------------------------------------------------------------------------------------------

  it('phase A: a backlog of hostile messages is taken, and the centre ends settled', async () => {
    // src: its genuine first entry (which h4 replays as its own), then entries whose texts and record
    // keys hold every character PostgreSQL's array syntax treats specially
    const src1 = await feed('src').append();
    await feed('h4').sendEntries([src1]);
    for (const e of SPECIAL) await feed('src').append(e);

    // h1: its entry 6 comes twice in one message: first altered after signing (framing a record key), then as written
    for (let i = 1; i <= 5; i++) await feed('h1').append();
    const h1x6 = await feed('h1').append({}, { publish: false });
    const h1y6 = { ...h1x6, record_keys: 'FRAMED-PERSON', record_count: 7 };
    await feed('h1').sendEntries([h1y6, h1x6]);
    for (let i = 7; i <= 8; i++) await feed('h1').append();

    // h2: its entry 6 comes twice in one message, same content and hash: first with a signature that is not its own, then as written
    for (let i = 1; i <= 5; i++) await feed('h2').append();
    const h2x6 = await feed('h2').append({}, { publish: false });
    await feed('h2').sendEntries([{ ...h2x6, signature: keyring.sign('h2', 'something else') }, h2x6]);
    for (let i = 7; i <= 8; i++) await feed('h2').append();

    // h3: its entry 4 holds a lone UTF-16 surrogate (valid JSON, \ud800): PostgreSQL stores U+FFFD in its place
    for (let i = 1; i <= 3; i++) await feed('h3').append();
    await feed('h3').append({ messageId: 'M-\ud800-lone' });
    for (let i = 5; i <= 6; i++) await feed('h3').append();

    // h5: ten plain entries (phase B rewrites below them under a declared restore)
    for (let i = 1; i <= 10; i++) await feed('h5').append();

    // h6: its entry 3 first with its hash and prev_hash as one-element JSON arrays (they pass the collector's
    // hex test as String([h])), then again as written, then entries 4 and 5
    for (let i = 1; i <= 2; i++) await feed('h6').append();
    const h6x3 = await feed('h6').append({}, { publish: false });
    await feed('h6').sendEntries([{ ...h6x3, hash: [h6x3.hash], prev_hash: [h6x3.prev_hash] }]);
    await feed('h6').sendEntries([h6x3]);
    for (let i = 4; i <= 5; i++) await feed('h6').append();

    // part: 1..5, then 8, 9 (altered after signing) and 10; 6 and 7 come in phase B, in separate batches, 7 first
    for (let i = 1; i <= 5; i++) await feed('part').append();
    const p6 = await feed('part').append({}, { publish: false });
    const p7 = await feed('part').append({}, { publish: false });
    facts.part = { p6, p7 };
    await feed('part').append();
    await feed('part').append({}, { alter: (e) => [{ ...e, record_count: e.record_count + 1 }] });
    await feed('part').append();

    // full: ten plain entries (phase B restores its database below them)
    for (let i = 1; i <= 10; i++) await feed('full').append();

    await confirmAll();
    await startCentre();
    await settled();
    expect(await waiting()).toBe(0);
  });

  it('holds: special characters in texts and record keys (quotes, backslashes, braces, commas, NULL, empty, newlines, unicode) are stored as written', async () => {
    const s = (await copyStates()).get('src')!;
    expect(s).toMatchObject({ contiguous: feed('src').head.seq, broken_seq: null });
    expect(await recheck('src')).toBeNull();
    expect(await differences('src')).toEqual([]);
    expect(await keyDifferences('src')).toEqual([]);
  });

  it("holds: another department's genuine entry replayed as h4's own (same batch as the original) is a signature break", async () => {
    const s = (await copyStates()).get('h4')!;
    expect(s).toMatchObject({ contiguous: '0', broken_seq: '1' });
    expect(s.broken_reason).toBe("entry 1: signature does not verify with the key of 'h4'");
  });

  it('holds: an entry sent twice in one message, first altered, then as written: the copy holds the first as it came, a break', async () => {
    const s = (await copyStates()).get('h1')!;
    expect(s).toMatchObject({ contiguous: '5', broken_seq: '6', broken_reason: 'entry 6: content does not match its hash (altered)' });
    expect({ recheck: await recheck('h1'), differences: await differences('h1'), keys: await keyDifferences('h1') }).toEqual({ recheck: null, differences: [], keys: [] });
  });

  it('holds: an entry sent twice in one message with the same hash, first with a signature that is not its own: the copy holds the first, a break', async () => {
    const s = (await copyStates()).get('h2')!;
    expect(s).toMatchObject({ contiguous: '5', broken_seq: '6', broken_reason: "entry 6: signature does not verify with the key of 'h2'" });
    expect({ recheck: await recheck('h2'), differences: await differences('h2') }).toEqual({ recheck: null, differences: [] });
  });

  it('holds: an entry holding a lone UTF-16 surrogate (stored as U+FFFD, no longer what was signed) is dropped as malformed: the copy waits before it', async () => {
    // the department's own check of its ledger (as PostgreSQL holds it) finds entry 4 altered
    const own = await verifyLedger(dbs.get('h3')!.db, keyring, 'h3');
    expect(own.broken?.seq).toBe('4');
    // the centre never takes it as checked: dropped, the copy waits at 3 (the node, asked again, sends it as stored: a break)
    const s = (await copyStates()).get('h3')!;
    expect(s).toMatchObject({ contiguous: '3', broken_seq: null });
    expect(await recheck('h3')).toBeNull();
  });

  it('holds: an entry whose hash is a one-element JSON array is dropped as malformed; the entry as written completes the copy', async () => {
    const s = (await copyStates()).get('h6')!;
    expect(s).toEqual({ contiguous: feed('h6').head.seq, broken_seq: null, broken_reason: null });
  });

  // ---------------------------------------------------------------------------------------------
  // Phase B: declared restores within a batch, and a gap filled later across batches.
  // ---------------------------------------------------------------------------------------------

  it('phase B: a genuine restore and a forged one wait in the queue; a gap of part is filled later, out of order', async () => {
    await stopCentre();
    // full's database restored from a backup taken at entry 6: what came after it is rolled back, the restore declared
    const old = [...feed('full').written.values()].filter((e) => BigInt(e.seq) >= 9n);
    await feed('full').rollback('6');
    // a late copy of old entries (the feed took them twice) before the restore: they are what the copy holds
    await feed('full').sendEntries(old);
    await feed('full').append({ kind: 'restored', count: 0, keys: undefined, flow: undefined, messageId: undefined, detail: { reason: 'database restored from a backup (dxg init --restored)' } });
    for (let i = 8; i <= 11; i++) await feed('full').append();

    // h5 declares a restore at entry 4 whose prev_hash is not the hash of the entry 3 the centre holds (and an entry after it)
    const h5restored = craft('h5', { seq: '4', kind: 'restored', record_count: 0, detail: JSON.stringify({ reason: 'restored' }) }, randomBytes(32).toString('hex'));
    const h5next = craft('h5', { seq: '5', kind: 'apply', record_count: 1, record_keys: 'REWRITTEN', flow: 'items' }, h5restored.hash);
    await feed('h5').sendEntries([h5restored, h5next]);
    await confirmAll();

    await startCentre();
    await settled();
    const { p6, p7 } = facts.part as { p6: StoredEntry; p7: StoredEntry };
    await feed('part').sendEntries([p7]);
    await confirmAll();
    await settled();
    await feed('part').sendEntries([p6]);
    await confirmAll();
    await settled();
  });

  it('holds: a declared restore within a batch replaces what it rolled back; the copy equals the restored ledger', async () => {
    const s = (await copyStates()).get('full')!;
    expect(s).toMatchObject({ contiguous: feed('full').head.seq, broken_seq: null });
    expect(await recheck('full')).toBeNull();
    expect(await differences('full')).toEqual([]);
    expect(await keyDifferences('full')).toEqual([]);
  });

  it('holds: a gap filled later, its second half first, moves the copy to the altered entry beyond it, which is a break', async () => {
    const s = (await copyStates()).get('part')!;
    expect(s).toMatchObject({ contiguous: '8', broken_seq: '9' });
    expect(s.broken_reason).toContain('altered');
    expect(await recheck('part')).toBeNull();
    expect(await differences('part')).toEqual([]);
  });

  it('holds: a declared restore that does not chain to the entry the centre holds before it is a break', async () => {
    const s = (await copyStates()).get('h5')!;
    expect(s).toMatchObject({ contiguous: '3', broken_seq: '4' });
    expect(await recheck('h5')).toBeNull();
  });

  // ---------------------------------------------------------------------------------------------
  // Phase C: thousands of messages waiting (twice, out of order, several entries per message), the centre killed mid-batch.
  // ---------------------------------------------------------------------------------------------

  it('holds: a backlog of thousands of messages, out of order and partly twice, with the centre killed mid-batch, converges to every ledger', async () => {
    await stopCentre();
    const before = new Map((['src', 'full'] as const).map((d) => [d, BigInt(feed(d).head.seq)]));
    for (const d of ['src', 'full'] as const) {
      const entries = await feed(d).appendMany(2500);
      // messages of 1 to 3 entries, shuffled within windows of 40, every seventh sent twice
      const messages: StoredEntry[][] = [];
      for (let i = 0; i < entries.length;) {
        const n = 1 + (i % 3);
        messages.push(entries.slice(i, i + n));
        i += n;
      }
      for (let w = 0; w < messages.length; w += 40) shuffle(messages, w, Math.min(messages.length, w + 40));
      for (const [i, m] of messages.entries()) {
        await feed(d).sendEntries(m);
        if (i % 7 === 0) await feed(d).sendEntries(m);
      }
    }
    await confirmAll();
    const queued = await waiting();
    expect(queued).toBeGreaterThan(2000);
    await startCentre();
    // killed once it has taken a part of the backlog: the batch it was in is never committed
    await waitFor('the centre taking the backlog', async () => {
      const st = await copyStates();
      return BigInt(st.get('src')!.contiguous) > before.get('src')! || BigInt(st.get('full')!.contiguous) > before.get('full')!;
    }, 30_000);
    centre!.child.kill('SIGKILL');
    await centre!.stop();
    centre = null;
    await startCentre();
    await waitFor('both collected whole', async () => {
      const st = await copyStates();
      return st.get('src')!.contiguous === feed('src').head.seq && st.get('full')!.contiguous === feed('full').head.seq;
    }, 60_000);
    await settled();
    for (const d of ['src', 'full'] as const) {
      expect((await copyStates()).get(d)).toMatchObject({ contiguous: feed(d).head.seq, broken_seq: null });
      expect(await recheck(d)).toBeNull();
      expect(await differences(d)).toEqual([]);
      expect(await keyDifferences(d)).toEqual([]);
    }
    const [held] = await centreDb.query<{ n: string }>(sql`SELECT count(*) AS n FROM centre_ledger WHERE department = 'src' AND seq > ${feed('src').head.seq}`);
    expect(Number(held.n)).toBe(0);
  }, 120_000);

  // ---------------------------------------------------------------------------------------------
  // Phase D: a message the collector cannot even read (its seq is an object that cannot become a text).
  // ---------------------------------------------------------------------------------------------

  it('holds: a message the collector cannot read (its seq an object whose toString is not a function) is dropped, and the centre still asks nodes for what its copy lacks', async () => {
    const src = feed('src');
    const asked: { from: string; to: string }[] = [];
    const conn = await amqp.connect(BROKER_URL);
    const heartbeat = () => src.send('heartbeat', { heartbeat: { at: new Date().toISOString(), version: 'test', sends: [], receives: [], head: src.head, figures: null, keyList: 0, restored: null } });
    /** src loses one entry on the feed, sends one after it, and heartbeats once a second, as a node does here; whether the centre asks for the lost one */
    const loseOne = async (withinMs: number): Promise<string | null> => {
      await src.append({}, { publish: false });
      const lost = src.head.seq;
      await src.append();
      for (const deadline = Date.now() + withinMs; Date.now() < deadline;) {
        heartbeat();
        await src.confirmed();
        if (asked.some((a) => a.from === lost)) {
          // src answers as its node does: the entry again, from its ledger
          await src.sendEntries([src.written.get(lost)]);
          await src.confirmed();
          await waitFor('src whole again', async () => (await copyStates()).get('src')!.contiguous === src.head.seq, 20_000);
          return lost;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      return null;
    };
    try {
      const ch = await conn.createChannel();
      await ch.consume(topology.controlQueue('src'), (msg) => {
        const req = JSON.parse(msg!.content.toString()) as { request: string; from: string; to: string };
        if (req.request === 'ledger') asked.push({ from: req.from, to: req.to });
      }, { noAck: true });
      // before: the centre asks for a lost entry within a few heartbeats
      expect(await loseOne(15_000)).not.toBeNull();
      // a hostile department's message whose seq String() cannot convert: dropped as malformed, counted as taken
      feed('h4').send('entries', { entries: [{ seq: { toString: 0 } }] });
      await feed('h4').confirmed();
      await new Promise((r) => setTimeout(r, 3000));
      // after: the same loss is asked for as before, the feed as quiet as a heartbeat a second
      const [ready] = await fetch(`${base}/ready`).then((r) => [r.status]);
      expect({ centreUp: ready, askedAfterPoison: await loseOne(12_000) !== null }).toEqual({ centreUp: 200, askedAfterPoison: true });
    } finally {
      await conn.close();
    }
  }, 60_000);

  // ---------------------------------------------------------------------------------------------

  async function startCentre(): Promise<void> {
    centre = ex.centre();
    await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
  }

  async function stopCentre(): Promise<void> {
    await centre?.stop();
    centre = null;
  }

  async function confirmAll(): Promise<void> {
    await Promise.all([...feeds.values()].map((f) => f.confirmed()));
  }

  /** The queue empty and every copy's state unchanged for 1.5 s. */
  async function settled(): Promise<void> {
    await waitFor('the queue drained', async () => (await waiting()) === 0, 60_000);
    let last = '';
    let since = Date.now();
    await waitFor('the copies settled', async () => {
      const now = JSON.stringify([...(await copyStates())]) + String(await waiting());
      if (now !== last) {
        last = now;
        since = Date.now();
        return false;
      }
      return Date.now() - since > 1500;
    }, 60_000);
  }


  /** The checked part of a copy, read back from the centre's database and checked again here: null when it is a sound chain. */
  async function recheck(d: Dept): Promise<string | null> {
    const state = (await copyStates()).get(d);
    if (!state) return null;
    const rows = await centreDb.query<StoredEntry & Record<string, unknown>>(sql`SELECT * FROM centre_ledger WHERE department = ${d} AND seq <= ${state.contiguous} ORDER BY seq`);
    let prev = ZERO;
    let expected = 1n;
    for (const r of rows) {
      if (BigInt(r.seq) !== expected) return `entry ${expected} is missing below the checked head ${state.contiguous}`;
      if (r.prev_hash !== prev) return `entry ${r.seq} (checked) does not chain to the entry before it`;
      if (chainHash(prev, canonical(r)) !== r.hash) return `entry ${r.seq} (checked) does not match its hash`;
      if (!keyring.verify(d, r.hash, r.signature, 'any')) return `entry ${r.seq} (checked) does not carry ${d}'s signature`;
      prev = r.hash;
      expected++;
    }
    if (expected - 1n !== BigInt(state.contiguous)) return `the checked head is ${state.contiguous}, the copy holds up to ${expected - 1n}`;
    return null;
  }

  /** Where the checked part of the copy differs from the department's ledger, column by column. */
  async function differences(d: Dept): Promise<string[]> {
    const state = (await copyStates()).get(d)!;
    const copy = await centreDb.query<Record<string, unknown>>(sql`SELECT ${sql.ids(COLUMNS)} FROM centre_ledger WHERE department = ${d} AND seq <= ${state.contiguous} ORDER BY seq`);
    const own = new Map((await dbs.get(d)!.query<Record<string, unknown>>(sql`SELECT ${sql.ids(COLUMNS)} FROM dxg_ledger WHERE seq <= ${state.contiguous} ORDER BY seq`)).map((r) => [String(r.seq), r]));
    const out: string[] = [];
    for (const r of copy) {
      const o = own.get(String(r.seq));
      if (!o) {
        out.push(`${r.seq}: not in ${d}'s ledger`);
        continue;
      }
      for (const c of COLUMNS) if (String(r[c] ?? '<null>') !== String(o[c] ?? '<null>')) out.push(`${r.seq}.${c}: centre ${JSON.stringify(r[c])}, ledger ${JSON.stringify(o[c])}`);
    }
    if (copy.length !== own.size) out.push(`centre holds ${copy.length} checked entries, the ledger ${own.size} up to ${state.contiguous}`);
    return out;
  }

  /** The record-key index against the keys of the department's ledger (every entry the centre holds, checked or not). */
  /** The record-key index against the department's ledger, over the checked part of the copy (the only part searched). */
  async function keyDifferences(d: Dept): Promise<string[]> {
    const { contiguous } = (await copyStates()).get(d)!;
    const indexed = new Set((await centreDb.query<{ record_key: string; seq: string }>(sql`SELECT record_key, seq FROM centre_record_keys WHERE department = ${d} AND seq <= ${contiguous}`)).map((r) => `${r.seq}:${r.record_key}`));
    const expected = new Set<string>();
    for (const r of await dbs.get(d)!.query<{ seq: string; record_keys: string | null }>(sql`SELECT seq, record_keys FROM dxg_ledger WHERE seq <= ${contiguous}`)) {
      if (r.record_keys) for (const k of r.record_keys.split('\n')) expected.add(`${r.seq}:${k}`);
    }
    return [...[...indexed].filter((k) => !expected.has(k)).map((k) => `indexed, not in the ledger: ${JSON.stringify(k)}`),
      ...[...expected].filter((k) => !indexed.has(k)).map((k) => `in the ledger, not indexed: ${JSON.stringify(k)}`)];
  }

  /** An entry built and signed by a department beyond what its ledger holds. */
  function craft(d: Dept, fields: Partial<StoredEntry> & { seq: string; kind: string; record_count: number }, prev: string): StoredEntry {
    const row = { at: new Date().toISOString(), flow: null, message_id: null, from_dept: null, to_dept: null, digest: null, record_keys: null, detail: null, algorithm: ALGORITHM, ...fields };
    const hash = chainHash(prev, canonical(row));
    return { ...row, prev_hash: prev, hash, signature: keyring.sign(d, hash) };
  }

});

/** Entries whose texts and record keys hold what PostgreSQL's array literal syntax treats specially. */
const SPECIAL: Partial<LedgerEntry>[] = [
  { flow: 'a"b\\c{d}e,f', messageId: 'NULL', from: '', to: '多部门 😀', digest: 'line1\nline2\r\n\ttab', keys: ['K"1', 'K\\2', '{K3}', 'K,4', 'NULL', '', 'K"1', 'ключ', '😀', 'a b'], detail: { s: 'x"y\\z{}[],NULL', n: null } },
  { flow: 'NULL', messageId: '', from: 'null', to: '{}', digest: '""', keys: ['NULL'] },
  { flow: '{"a","b"}', messageId: '\\"', keys: ['', ''] },
  { flow: ' ', messageId: '\u2028\u2029', keys: ['dup', 'dup', 'dup', 'a\r', 'a'] },
  { flow: '\\\\N', messageId: 'x\ty', keys: ['{NULL}', '{"",""}', '\\N'], detail: { deep: { a: ['{', '}'] } } },
];

function shuffle<T>(a: T[], from: number, to: number): void {
  for (let i = to - 1; i > from; i--) {
    const j = from + Math.floor(Math.random() * (i - from + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}
