import amqp from 'amqplib';
import { sql } from '../../adapters/sql';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { Keyring } from '../../gateway/envelope/keys';
import { centreCopies, Feed, waitingAtCentre } from '../helpers/feed';
import { BROKER_URL } from '../helpers/exchange';
import { departmentBrokerUrl, waitFor } from '../helpers/broker';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { itemExchange, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';

/**
 * The centre's collector on a backlog (DESIGN §8): the messages waiting in its queue are taken many
 * at a time, and the copy ends as if they had been taken one by one. The departments' ledgers are
 * the product's own (Ledger.append in each department database); their feed is published here as
 * each department's broker user, as a node publishes it, with what a faulty or hostile one could add.
 */
describe('exchange centre collecting a backlog', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let base: string;
  let topology: Topology;
  let keyring: Keyring;
  const feeds = new Map<string, Feed>();
  const copyStates = () => centreCopies(centreDb);
  const waiting = () => waitingAtCentre(topology);
  const dbs = () => ({ src: x.src, full: x.full, part: x.part });

  beforeAll(async () => {
    x = await itemExchange('cc');
    centreDb = await createTestDatabase('postgres', 'cccentre');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    x.ex.addCentre({ databaseUrl: centreDb.url, port });
    await x.ex.setUp();
    const { config } = loadProject(x.ex.config).project!;
    topology = Topology.of(config);
    keyring = new Keyring(config.dirs.keys);
    // the centre's first start declares its queue, bound to the feed: what the departments send from now on waits there
    const centre = x.ex.centre();
    await ready();
    await centre.stop();
    for (const [d, db] of Object.entries(dbs())) feeds.set(d, await Feed.open(departmentBrokerUrl(x.ex, d), topology, keyring, d, db));
  });

  afterAll(async () => {
    for (const f of feeds.values()) await f.close();
    await x?.destroy();
    await centreDb?.drop();
  });

  it('takes many waiting messages of several departments together; a poison and a malformed message are dropped, a tampered entry is a break', async () => {
    const [src, full, part] = ['src', 'full', 'part'].map((d) => feeds.get(d)!);
    for (let i = 1; i <= 150; i++) {
      await src.append();
      // part's entry 30 reaches the centre altered after it was signed
      await part.append({}, { alter: i === 30 ? (e) => [{ ...e, record_count: e.record_count + 1 }] : undefined });
      await full.append();
      // a heartbeat among the entries: its head is countersigned only if the entries before it are stored first
      if (i === 20) src.send('heartbeat', { heartbeat: { at: new Date().toISOString(), version: 'test', sends: [], receives: [], head: src.head, figures: null, keyList: 0, restored: null } });
      // an entry the copy cannot store (its count is beyond the column) fails every time: it must not hold up the others
      if (i === 40) full.send('entries', { entries: [{ ...full.last!, seq: '900', record_count: 2 ** 40 }] });
      if (i === 60) full.send('entries', { entries: [{ seq: 'x' }] });
      // entries the copy would store as other than they came (a seq with a leading zero, a number for a text): dropped, never stored
      if (i === 70) full.send('entries', { entries: [{ ...full.last!, seq: '0950' }] });
      if (i === 80) full.send('entries', { entries: [{ ...full.last!, seq: '960', flow: 5 as unknown as string }] });
    }
    await Promise.all([...feeds.values()].map((f) => f.confirmed()));
    expect(await waiting()).toBe(455);

    const centre = x.ex.centre();
    try {
      await ready();
      await waitFor('src and full collected, part up to the tampered entry', async () => {
        const states = await copyStates();
        return states.get('src')?.contiguous === src.head.seq && states.get('full')?.contiguous === full.head.seq && states.get('part')?.broken_seq === '30' && states;
      }, 120_000);
      const states = await copyStates();
      expect(states.get('part')).toMatchObject({ contiguous: '29', broken_seq: '30' });
      expect(states.get('part')!.broken_reason).toContain('altered');
      const [alarm] = await centreDb.query<{ reason: string }>(sql`SELECT reason FROM centre_alarms WHERE kind = 'ledger-break' AND department = 'part' AND cleared_at IS NULL`);
      expect(alarm.reason).toContain('entry 30');
      for (const d of ['src', 'full', 'part']) {
        const own = await dbs()[d as 'src'].query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM dxg_ledger ORDER BY seq`);
        const copy = await centreDb.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM centre_ledger WHERE department = ${d} ORDER BY seq`);
        expect([d, copy.map((r) => `${r.seq}:${r.hash}`)]).toEqual([d, own.map((r) => `${r.seq}:${r.hash}`)]);
      }
      const [keys] = await centreDb.query<{ n: string }>(sql`SELECT count(*) AS n FROM centre_record_keys WHERE department = 'src'`);
      expect(Number(keys.n)).toBe(150);
      const heads = await centreDb.query<{ seq: string }>(sql`SELECT seq FROM centre_heads WHERE department = 'src'`);
      expect(heads.map((h) => String(h.seq))).toEqual(['20']);
      // the poison message was delivered again up to the queue's delivery limit, then dropped; the malformed one at once
      await waitFor('the queue drained', async () => (await waiting()) === 0, 60_000);
    } finally {
      await centre.stop();
    }
    expect(await waiting()).toBe(0);
  });

  it('asks a node for a gap only once the feed cannot bring it, not while the entries wait in its queue', async () => {
    const [src, full] = ['src', 'full'].map((d) => feeds.get(d)!);
    const asked: { at: number; from: string; to: string }[] = [];
    const conn = await amqp.connect(BROKER_URL);
    try {
      const ch = await conn.createChannel();
      await ch.consume(topology.controlQueue('src'), (msg) => {
        const req = JSON.parse(msg!.content.toString()) as { request: string; from: string; to: string };
        if (req.request === 'ledger') asked.push({ at: Date.now(), from: req.from, to: req.to });
      }, { noAck: true });
      // src's feed loses one entry (the broker was away, say); its heartbeat names the head beyond it
      const lost = BigInt(src.head.seq) + 5n;
      for (let i = 0; i < 10; i++) await src.append({}, { publish: BigInt(src.head.seq) + 1n !== lost });
      src.send('heartbeat', { heartbeat: { at: new Date().toISOString(), version: 'test', sends: [], receives: [], head: src.head, figures: null, keyList: 0, restored: null } });
      // behind it, a backlog of full's entries that keeps the centre busy for a few of its checks
      for (let i = 0; i < 3000; i++) await full.append();
      await Promise.all([...feeds.values()].map((f) => f.confirmed()));
      const centre = x.ex.centre();
      try {
        await ready();
        let drainedAt = 0;
        await waitFor('the backlog taken', async () => (await waiting()) === 0 && (drainedAt = Date.now()), 120_000);
        await waitFor('src asked for the lost entry', async () => asked.length > 0, 30_000);
        expect(asked[0]).toEqual(expect.objectContaining({ from: String(lost), to: String(lost) }));
        expect(asked.filter((a) => a.at < drainedAt)).toEqual([]);
        // src answers as its node does: the entry again, from its ledger; the copy is whole again
        src.send('entries', { entries: [src.written.get(String(lost))], resent: true });
        await src.confirmed();
        await waitFor('src collected whole', async () => (await copyStates()).get('src')?.contiguous === src.head.seq, 30_000);
        await waitFor('full collected whole', async () => (await copyStates()).get('full')?.contiguous === full.head.seq, 60_000);
      } finally {
        await centre.stop();
      }
    } finally {
      await conn.close();
    }
  });

  it("a signature by another department's key is a break, though the entry's content and chain are intact", async () => {
    const full = feeds.get('full')!;
    const from = BigInt(full.head.seq);
    const forged = String(from + 10n);
    for (let i = 1n; i <= 20n; i++) await full.append({}, { alter: String(from + i) === forged ? (e) => [{ ...e, signature: keyring.sign('src', e.hash) }] : undefined });
    await full.confirmed();
    const centre = x.ex.centre();
    try {
      await ready();
      await waitFor('full broken at the forged entry', async () => (await copyStates()).get('full')?.broken_seq === forged, 60_000);
      const state = (await copyStates()).get('full')!;
      expect(state).toMatchObject({ contiguous: String(from + 9n), broken_seq: forged });
      expect(state.broken_reason).toBe(`entry ${forged}: signature does not verify with the key of 'full'`);
      // the entries after it are stored, not taken as checked
      const [after] = await centreDb.query<{ n: string }>(sql`SELECT count(*) AS n FROM centre_ledger WHERE department = 'full' AND seq > ${forged}`);
      expect(Number(after.n)).toBe(10);
    } finally {
      await centre.stop();
    }
  });

  async function ready(): Promise<void> {
    await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
  }


});
