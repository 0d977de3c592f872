import { request } from 'node:http';
import amqp from 'amqplib';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { announced, keyId } from '../../gateway/envelope/key-list';
import { createServer, type Server } from 'node:http';
import { sql } from '../../adapters/sql';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { departmentBrokerUrl, inject, waitFor } from '../helpers/broker';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { everySecond, insertItems, itemExchange, validItems, type ItemExchange } from '../helpers/items';
import { freePort } from '../helpers/ports';
import { parse, value } from '../helpers/prometheus';

/**
 * The exchange centre (DESIGN §8), run as `dxg centre` beside `dxg up`: its copy of every ledger
 * equals the departments' own, also after it was down and its feed lost messages; it raises alarms
 * (kept, and POSTed to a webhook) for silent nodes and broken ledgers; its figures equal dxg status;
 * it answers only to a login, and records every look at record keys.
 */
describe('exchange centre', () => {
  let x: ItemExchange;
  let centreDb: TestDatabase;
  let port: number;
  let hook: Server;
  const posted: { id: string; kind: string; department: string | null; reason: string }[] = [];
  const tries = new Map<string, number>();
  let base: string;
  let password = '';
  let token = '';
  const dbs = () => ({ src: x.src, full: x.full, part: x.part });

  beforeAll(async () => {
    x = await itemExchange('ce', { flow: everySecond });
    centreDb = await createTestDatabase('postgres', 'cecentre');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // the first POST of every alarm finds the webhook failing: the centre must POST it again
        const alarm = JSON.parse(body) as { id: string; kind: string; department: string | null; reason: string };
        tries.set(alarm.id, (tries.get(alarm.id) ?? 0) + 1);
        if (tries.get(alarm.id) === 1) {
          res.statusCode = 503;
          return res.end('busy');
        }
        posted.push(alarm);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    x.ex.addCentre({ databaseUrl: centreDb.url, port, webhook: `http://127.0.0.1:${(hook.address() as { port: number }).port}/alarms`, webhookRetry: '1s' });
    await x.ex.setUp();
    const added = await x.ex.ok('centre', 'users', 'add', 'auditor1', '--role', 'auditor', '--generate');
    password = /password: (\S+)/.exec(added)![1];
  });

  afterAll(async () => {
    await new Promise((r) => hook?.close(r));
    await x?.destroy();
    await centreDb?.drop();
  });

  it('collects every ledger, catches up after a stop and lost feed messages, alarms on a silent node and a tampered ledger', async () => {
    let centre = x.ex.centre();
    let nodes = x.ex.up();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'auditor1', password }) });
      expect(login.status).toBe(200);
      token = ((await login.json()) as { token: string }).token;

      await insertItems(x.src, validItems(40));
      await waitFor('every item applied', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n === '40', 60_000);
      await converged();

      // the centre stops; the exchange goes on without it
      await centre.stop();
      await insertItems(x.src, validItems(30, 100));
      await waitFor('the new items applied with the centre down', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n === '70', 60_000);
      // what the feed carried meanwhile is lost: the centre must ask the nodes for it
      const { config } = loadProject(x.ex.config).project!;
      const queue = Topology.of(config).centreQueue;
      const purged = await purge(queue);
      expect(purged).toBeGreaterThan(0);
      centre = x.ex.centre();
      await waitFor('the centre again', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      await converged();

      // figures: as dxg status, in the API and in /metrics
      const status = JSON.parse(await x.ex.ok('status', '--format', 'json')) as { target: string; extracted: number; published: number; applied: number; rejected: number; filtered: number }[];
      const view = await waitFor('the source\'s heartbeat with every receipt in', async () => {
        const v = await api<{ targets: { target: string; counts: { extracted: number; published: number; applied: number; rejected: number; awaitingReceipt: number } | null; reconciled: boolean }[] }>('/api/status');
        return v.targets.every((t) => t.counts && t.counts.awaitingReceipt === 0 && t.counts.extracted === 70) && v;
      }, 30_000);
      for (const row of status) {
        const t = view.targets.find((v) => v.target === row.target)!;
        expect(t.counts).toMatchObject({ extracted: row.extracted, published: row.published, applied: row.applied, rejected: row.rejected });
        expect(t.reconciled).toBe(true);
      }
      const samples = parse(await (await fetch(`${base}/metrics`)).text());
      for (const row of status) expect(value(samples, 'dxg_records_total', { flow: 'items', target: row.target, outcome: 'applied' })).toBe(row.applied);

      // the command line asks the centre for the same
      const cli = await dxgWith({ XDG_CONFIG_HOME: x.ex.dir }, 'status', '--centre');
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('not logged in');
      const env = { DXG_CENTRE_TOKEN: token };
      const trailCli = JSON.parse(await okWith(env, 'audit', '--centre', '--key', 'AB0001', '--reveal', '--reason', 'test of the trail', '--format', 'json')) as { ledger: string; seq: number; hash: string }[];
      const trailLocal = JSON.parse(await x.ex.ok('audit', '--key', 'AB0001', '--format', 'json')) as { ledger: string; seq: number; hash: string }[];
      expect(trailCli.map((e) => `${e.ledger}:${e.seq}:${e.hash}`)).toEqual(trailLocal.map((e) => `${e.ledger}:${e.seq}:${e.hash}`));
      expect(trailCli.length).toBeGreaterThanOrEqual(4);
      const journal = await api<{ actor: string; action: string; reason: string | null }[]>('/api/journal');
      expect(journal).toContainEqual(expect.objectContaining({ actor: 'auditor1', action: 'look unmasked: trail', reason: 'test of the trail' }));
      // what the centre refuses for what was asked is a usage error, exit 64, as on the command line
      const refused = await dxgWith(env, 'applications', '--state', 'bogus');
      expect([refused.code, refused.stderr]).toEqual([64, expect.stringContaining('the centre answered 400')]);
      const centreStatus = await okWith(env, 'status', '--centre');
      expect(centreStatus).toMatch(/items\s*│\s*full/);
      expect(centreStatus).toMatch(/rejected\s*│\s*replayed \(source \+ target\)/);

      // a message a target cannot take becomes a dead letter there, and an alarm here
      await inject(Topology.of(loadProject(x.ex.config).project!.config).flowQueue('full', 'items'), Buffer.from('not an envelope'), { messageId: 'garbage-1' });
      await waitFor('a dead-letter alarm', async () => (await api<{ kind: string; department: string; reason: string }[]>('/api/alarms?open=true'))
        .some((a) => a.kind === 'dead-letter' && a.department === 'full' && a.reason.includes('garbage-1')), 30_000);

      // a node that stops is silent: an alarm, kept and POSTed
      await nodes.stop();
      const silent = await waitFor('silent alarms', async () => {
        const alarms = await api<{ kind: string; department: string; clearedAt: string | null }[]>('/api/alarms?open=true');
        const silentNodes = alarms.filter((a) => a.kind === 'node-silent');
        return silentNodes.length === 3 && silentNodes;
      }, 30_000);
      expect(silent.map((a) => a.department).sort()).toEqual(['full', 'part', 'src']);
      await waitFor('the webhook told (the second time)', async () => posted.filter((p) => p.kind === 'node-silent').length === 3, 15_000);
      expect(posted.filter((p) => p.kind === 'node-silent').map((p) => tries.get(p.id))).toEqual([2, 2, 2]);
      // silent nodes are asked but not waited for: the quarantine comes back well within its wait, saying why
      const asked = Date.now();
      const q = await api<{ items: unknown[]; unanswered: string[]; silent: Record<string, number | null> }>('/api/quarantine?wait=60');
      expect(Date.now() - asked).toBeLessThan(30_000);
      expect(q.unanswered.sort()).toEqual(['full', 'part', 'src']);
      expect(Object.keys(q.silent).sort()).toEqual(['full', 'part', 'src']);
      expect(Object.values(q.silent).every((s) => s !== null && s >= 3)).toBe(true);

      // receipts that no longer agree with the target's ledger, and a ledger tampered with where it lives: found by the centre
      const [receipt] = await x.src.query<{ message_id: string }>(sql`SELECT min(message_id) AS message_id FROM dxg_receipts WHERE to_dept = 'full' AND applied > 0`);
      await x.src.execute(sql`UPDATE dxg_receipts SET applied = applied - 1 WHERE message_id = ${receipt.message_id}`);
      await x.src.execute(sql`UPDATE dxg_ledger SET record_count = record_count + 1 WHERE seq = 3`);
      nodes = x.ex.up();
      await waitFor('an alarm on the counts', async () => (await api<{ kind: string; flow: string; department: string }[]>('/api/alarms?open=true'))
        .some((a) => a.kind === 'counts' && a.flow === 'items' && a.department === 'src'), 30_000);
      await waitFor('the webhook told of the counts', async () => posted.some((p) => p.kind === 'counts' && p.reason.includes('the ledger of full says applied')), 10_000);
      const verdict = await waitFor('a verdict with the node\'s own check', async () => {
        const v = await api<{ intact: boolean; departments: { department: string; intact: boolean; problems: string[]; node: unknown }[] }>('/api/verify?wait=10');
        return v.departments.every((d) => d.node) && v;
      }, 60_000);
      expect(verdict.intact).toBe(false);
      const src = verdict.departments.find((d) => d.department === 'src')!;
      expect(src.intact).toBe(false);
      expect(src.problems.join('\n')).toContain("the node's own check: broken at entry 3");
      expect((await api<{ kind: string; department: string; reason: string }[]>('/api/alarms?open=true'))).toContainEqual(expect.objectContaining({ kind: 'ledger-break', department: 'src', reason: expect.stringContaining('broken at entry 3') }));
      expect(verdict.departments.filter((d) => d.department !== 'src').every((d) => d.intact)).toBe(true);
      // put back as it was, for the tests after this one
      await x.src.execute(sql`UPDATE dxg_ledger SET record_count = record_count - 1 WHERE seq = 3`);
      await x.src.execute(sql`UPDATE dxg_receipts SET applied = applied + 1 WHERE message_id = ${receipt.message_id}`);
      // the silence ends with the heartbeats
      await waitFor('silent alarms cleared', async () => (await api<{ kind: string }[]>('/api/alarms?open=true')).every((a) => a.kind !== 'node-silent'), 30_000);
    } finally {
      await nodes.stop();
      await centre.stop();
    }
  });

  it('answers only to a login, and to each role only what it may do', async () => {
    const centre = x.ex.centre();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      expect((await fetch(`${base}/api/status`)).status).toBe(401);
      expect((await fetch(`${base}/api/status`, { headers: { authorization: 'Bearer forged' } })).status).toBe(401);
      const tryLogin = (name: string, password: string) => fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
      expect((await tryLogin('auditor1', 'not-it-at-all')).status).toBe(401);
      // guesses slow down their source: the sixth wrong password for one name from one address waits, and says so
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await tryLogin('s3cret-typed-as-name', `guess ${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      expect(((await (await tryLogin('s3cret-typed-as-name', 'guess')).json()) as { error: string }).error).toMatch(/^too many failed logins from \S+: try again in \d+ s$/);
      // …without locking anyone out by name, and without putting what was typed in the journal: no such user
      expect((await tryLogin('auditor1', 'not-it-at-all')).status).toBe(401);
      // one account guessed from many addresses slows down too (a hostile re-review guessed 50 times from ten addresses)
      const fromAddress = (address: string, name: string, password: string) => new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ name, password });
        const r = request(`${base}/api/login`, { method: 'POST', localAddress: address, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        r.on('error', reject);
        r.end(body);
      });
      const spread: number[] = [];
      for (let i = 2; i <= 12; i++) spread.push(await fromAddress(`127.0.0.${i}`, 'operator9', `guess ${i}`));
      expect(spread.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(spread[10]).toBe(429);
      const journal = await api<{ actor: string; action: string }[]>('/api/journal');
      expect(journal.filter((j) => j.action === 'login failed').map((j) => j.actor)).toEqual(expect.arrayContaining(['(no such user)', 'auditor1']));
      expect(JSON.stringify(journal)).not.toContain('s3cret-typed-as-name');
      // a user removed on the centre's machine is refused at once, and the journal says who came and went
      const temp = /password: (\S+)/.exec(await x.ex.ok('centre', 'users', 'add', 'temp1', '--role', 'auditor', '--generate'))![1];
      const tempToken = ((await (await tryLogin('temp1', temp)).json()) as { token: string }).token;
      expect((await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${tempToken}` } })).status).toBe(200);
      expect(await x.ex.ok('centre', 'users', 'remove', 'temp1')).toContain('user temp1 removed');
      expect((await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${tempToken}` } })).status).toBe(401);
      const changes = (await api<{ action: string; subject: string }[]>('/api/journal')).filter((j) => j.action.startsWith('user '));
      expect(changes.map((j) => `${j.action}: ${j.subject}`)).toEqual(expect.arrayContaining(['user added: temp1: auditor', 'user removed: temp1']));
      // an auditor reads, but clears no alarm
      const clear = await fetch(`${base}/api/alarms/1/clear`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x' }) });
      expect(clear.status).toBe(403);
      // keys are masked unless revealed with a reason
      const noReason = await fetch(`${base}/api/trail?key=AB0001&reveal=true`, { headers: { authorization: `Bearer ${token}` } });
      expect(noReason.status).toBe(400);
      expect(((await noReason.json()) as { error: string }).error).toContain('reveal needs a reason');
      const openapi = (await (await fetch(`${base}/api/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(openapi.openapi).toMatch(/^3\./);
      expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/status', '/api/audit', '/api/trail', '/api/verify', '/api/nodes', '/api/alarms', '/api/keys']));
      // every route not declared public refuses a request without a login, however its path is spelt
      type Operation = { security?: unknown[] };
      const guarded = Object.entries(openapi.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
        Object.entries(methods).filter(([, op]) => !(Array.isArray(op.security) && op.security.length === 0)).map(([method]) => [method.toUpperCase(), path.replace(/\{[^}]+\}/g, '1')] as const));
      expect(guarded.length).toBeGreaterThan(15);
      const spellings = (path: string) => [path, path.replace('/api/', '/%61pi/'), path.replace(/\/api\/(.)/, (_m, c: string) => `/api/%${c.charCodeAt(0).toString(16)}`)];
      const answers: string[] = [];
      for (const [method, path] of guarded) {
        for (const spelt of spellings(path)) {
          const r = await fetch(`${base}${spelt}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
          if (r.status !== 401) answers.push(`${method} ${spelt}: ${r.status}`);
        }
      }
      expect(answers).toEqual([]);
      const keys = (await (await fetch(`${base}/api/keys`)).json()) as { keys: { department: string }[]; signature: string };
      expect(keys.keys.map((k) => k.department).sort()).toEqual(['full', 'part', 'src']);
      expect(keys.signature).toMatch(/^[A-Za-z0-9+/=]{80,}$/);
    } finally {
      await centre.stop();
    }
  });

  it('keeps the key registry: the signed list reaches the nodes, a rotation endorsed by the current key is taken, one that is not is refused', async () => {
    const centre = x.ex.centre();
    let nodes = x.ex.up();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      type List = { version: number; keys: { department: string; id: string; validUntil: string | null }[]; signature: string };
      const first = (await (await fetch(`${base}/api/keys`)).json()) as List;
      expect(first.keys.map((k) => k.department).sort()).toEqual(['full', 'part', 'src']);
      // every node holds the list the centre signed (sent after its heartbeat), kept for its next start
      const kept = () => JSON.parse(readFileSync(join(x.ex.dir, 'keys', 'keylist.json'), 'utf8')) as List;
      await waitFor('the key list at the nodes', async () => existsSync(join(x.ex.dir, 'keys', 'keylist.json')) && kept().version === first.version, 30_000);

      // a new key for full, not endorsed by its current key: refused, the list unchanged
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await publishKey('full', { publicKey: pem, proof: sign(null, Buffer.from(announced('full', keyId(pem))), privateKey).toString('base64') });
      await waitFor('the refusal in the journal', async () => (await api<{ action: string; subject: string }[]>('/api/journal')).some((j) => j.action === 'key refused' && j.subject.startsWith('full ')), 30_000);
      expect(((await (await fetch(`${base}/api/keys`)).json()) as List).version).toBe(first.version);

      // the same through the command line: it waits for the registry's answer, and a refusal fails it with the reason
      const keysDir = join(x.ex.dir, 'keys');
      const own = ['key', 'pub'].map((ext) => readFileSync(join(keysDir, `full.${ext}`)));
      const stranger = generateKeyPairSync('ed25519');
      writeFileSync(join(keysDir, 'full.key'), stranger.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      writeFileSync(join(keysDir, 'full.pub'), stranger.publicKey.export({ type: 'spki', format: 'pem' }));
      const refused = await x.ex.dxg('keys', 'register', '--department', 'full', '--wait', '20');
      writeFileSync(join(keysDir, 'full.key'), own[0], { mode: 0o600 });
      writeFileSync(join(keysDir, 'full.pub'), own[1]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("the centre's registry refused key");
      expect(refused.stderr).toContain("not signed by the department's current key");
      // its own key again: already listed, so the command succeeds
      expect(await x.ex.ok('keys', 'register', '--department', 'full')).toContain("registered: the centre's key list names it");

      // src rotates: the new key is endorsed by the current one; the old stays valid through the overlap
      expect(await x.ex.ok('keys', 'rotate', '--department', 'src')).toContain("registered: the centre's key list names it");
      const rotated = await waitFor('the rotation in the list', async () => {
        const l = (await (await fetch(`${base}/api/keys`)).json()) as List;
        return l.keys.filter((k) => k.department === 'src').length === 2 && l;
      }, 30_000);
      const [old, next] = [rotated.keys.find((k) => k.department === 'src' && k.validUntil)!, rotated.keys.find((k) => k.department === 'src' && !k.validUntil)!];
      expect(old.id).toBe(keyId(readFileSync(join(x.ex.dir, 'keys', 'src.pub'), 'utf8')));
      expect(next.id).toBe(keyId(readFileSync(join(x.ex.dir, 'keys', 'src.next.pub'), 'utf8')));
      expect((await api<{ action: string }[]>('/api/journal')).some((j) => j.action === 'key rotated')).toBe(true);
      await waitFor('the rotated list at the nodes', async () => kept().version === rotated.version, 30_000);

      // src signs with its new key from now on, and its targets take what it signs
      const before = Number((await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n);
      await insertItems(x.src, validItems(5, 900));
      await waitFor('the items signed with the new key applied', async () => Number((await x.full.query(sql`SELECT count(*) AS n FROM t_full`))[0].n) === before + 5, 60_000);
      const [last] = await x.src.query<{ hash: string; signature: string }>(sql`SELECT hash, signature FROM dxg_ledger ORDER BY seq DESC LIMIT 1`);
      const nextKey = createPublicKey(readFileSync(join(x.ex.dir, 'keys', 'src.next.pub'), 'utf8'));
      expect(verify(null, Buffer.from(last.hash), nextKey, Buffer.from(last.signature, 'base64'))).toBe(true);
      // every ledger still verifies: entries before the rotation with the old key, after it with the new
      await nodes.stop();
      expect(await x.ex.ok('audit', 'verify')).toMatch(/src: \d+ entries, chain and signatures intact/);
      nodes = x.ex.up();
      const verdict = await api<{ intact: boolean }>('/api/verify?wait=10');
      expect(verdict.intact).toBe(true);
    } finally {
      await nodes.stop();
      await centre.stop();
    }
  });

  it('shows what was set aside and has the owning node replay it, for an operator only', async () => {
    const added = await x.ex.ok('centre', 'users', 'add', 'operator1', '--role', 'operator', '--generate');
    const centre = x.ex.centre();
    const nodes = x.ex.up();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      const operator = await loginAs('operator1', /password: (\S+)/.exec(added)![1]);
      // a title too long for part's register: rejected there, set aside with the reason
      await insertItems(x.src, [{ ...validItems(1, 700)[0], title: '一个名称很长的测试条目超过十个字' }]);
      const set = await waitFor('the reject at part, seen from the centre', async () => {
        const q = await api<{ items: { department: string; stage: string; id: number; reason: string; record_key: string }[]; unanswered: string[] }>('/api/quarantine?stage=target');
        // every node answered (one whose heartbeat has not come yet is waited for only briefly)
        return q.items.some((i) => i.department === 'part' && i.record_key === 'AB0700') && q.unanswered.length === 0 && q;
      }, 60_000);
      expect(set.unanswered).toEqual([]);
      const item = set.items.find((i) => i.department === 'part' && i.record_key === 'AB0700')!;
      expect(item.reason).toMatch(/too long|value too long/i);

      const replay = (who: string) => fetch(`${base}/api/replay`, {
        method: 'POST', headers: { authorization: `Bearer ${who}`, 'content-type': 'application/json' },
        body: JSON.stringify({ department: 'part', stage: 'target', ids: [item.id], reason: 'mc widened to 100 characters' }),
      });
      expect((await replay(token)).status).toBe(403);
      await x.part.run('ALTER TABLE t_part ALTER COLUMN mc TYPE varchar(100)');
      const res = await replay(operator);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { reports: { stage: string; done: number }[] }).reports).toEqual([expect.objectContaining({ stage: 'target', done: 1 })]);
      const [row] = await x.part.query<{ mc: string }>(sql`SELECT mc FROM t_part WHERE bh = 'AB0700'`);
      expect(row.mc).toBe('一个名称很长的测试条目超过十个字');
      expect((await api<{ actor: string; action: string; reason: string }[]>('/api/journal'))).toContainEqual(expect.objectContaining({ actor: 'operator1', action: 'replay', reason: 'mc widened to 100 characters' }));
    } finally {
      await nodes.stop();
      await centre.stop();
    }
  });

  it('takes a declared restore: the copy follows the restored ledger, without a break', async () => {
    let centre = x.ex.centre();
    let nodes = x.ex.up();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      await insertItems(x.src, validItems(4, 1000));
      await waitFor('the items applied', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full WHERE code >= 'AB1000'`))[0].n === '4', 60_000);
      await converged();
      await nodes.stop();
      await centre.stop();
      // src's database back to a backup taken three entries ago (its ledger, as far as the centre can tell)
      const [head] = await x.src.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`);
      const back = String(BigInt(head.seq) - 3n);
      const [kept] = await x.src.query<{ hash: string }>(sql`SELECT hash FROM dxg_ledger WHERE seq = ${back}`);
      await x.src.execute(sql`DELETE FROM dxg_ledger WHERE seq > ${back}`);
      await x.src.execute(sql`UPDATE dxg_ledger_head SET seq = ${back}, hash = ${kept.hash} WHERE id = 1`);
      const declared = new Date().toISOString();
      await x.ex.ok('init', '--restored', 'src');
      centre = x.ex.centre();
      nodes = x.ex.up();
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      await insertItems(x.src, validItems(2, 1100));
      await waitFor('the new items applied', async () => (await x.full.query(sql`SELECT count(*) AS n FROM t_full WHERE code >= 'AB1100'`))[0].n === '2', 60_000);
      await converged();
      const [restored] = await centreDb.query<{ kind: string }>(sql`SELECT kind FROM centre_ledger WHERE department = 'src' AND seq = ${String(BigInt(back) + 1n)}`);
      expect(restored.kind).toBe('restored');
      const breaks = await centreDb.query(sql`SELECT reason FROM centre_alarms WHERE kind = 'ledger-break' AND department = 'src' AND at > ${declared}`);
      expect(breaks).toEqual([]);
    } finally {
      await nodes.stop();
      await centre.stop();
    }
  });

  it('shows nothing a department made up on its own feed, and drops what it cannot read without stalling', async () => {
    const centre = x.ex.centre();
    try {
      await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
      const fake = { seq: '600', at: new Date().toISOString(), kind: 'apply', flow: 'items', message_id: 'forged', from_dept: 'src', to_dept: 'full', record_count: 1, digest: null,
        record_keys: 'ZZ9999', detail: null, algorithm: 'ed25519/sha256', prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64), signature: 'cc' };
      await publishFeed('full', 'entries', { type: 'entries', department: 'full', entries: [fake] });
      await publishFeed('full', 'heartbeat', { type: 'heartbeat', department: 'full', heartbeat: null });
      await publishFeed('full', 'entries', { type: 'entries', department: 'full', entries: [{ ...fake, seq: '601', record_keys: 'K'.repeat(2_000_000) }] });
      await waitFor('the forged entry stored, unchecked', async () => (await centreDb.query(sql`SELECT 1 FROM centre_ledger WHERE department = 'full' AND seq = 600`)).length === 1, 30_000);
      const trail = await api<{ entries: unknown[] }>('/api/trail?key=ZZ9999&reason=forged%20entry%20check');
      expect(trail.entries).toEqual([]);
      const audit = await api<{ entries: { messageId: string }[] }>('/api/audit?department=full&limit=10000');
      expect(audit.entries.some((e) => e.messageId === 'forged')).toBe(false);
      // what could not be read was dropped, not returned to the queue: the queue is empty again
      const { config } = loadProject(x.ex.config).project!;
      await waitFor('the centre queue drained', async () => {
        const conn = await amqp.connect(config.broker.url);
        try {
          const ch = await conn.createChannel();
          const q = await ch.checkQueue(Topology.of(config).centreQueue);
          return q.messageCount === 0;
        } finally {
          await conn.close();
        }
      }, 30_000);
      expect((await fetch(`${base}/ready`)).status).toBe(200);
    } finally {
      await centre.stop();
    }
  });

  it('is out of reach of a department: its feed and its requests to the nodes refuse a department\'s credentials', async () => {
    const { config } = loadProject(x.ex.config).project!;
    const topology = Topology.of(config);
    const conn = await amqp.connect(departmentBrokerUrl(x.ex, 'full'));
    try {
      const refused = async (what: (ch: amqp.ConfirmChannel) => Promise<unknown>) => {
        const ch = await conn.createConfirmChannel();
        let closedWith = '';
        ch.on('error', (err: Error) => (closedWith = err.message));
        const r = await what(ch).then(() => 'allowed', (err: Error) => `${err.message} ${closedWith}`);
        await ch.close().catch(() => undefined);
        return r;
      };
      expect(await refused((ch) => ch.consume(topology.centreQueue, () => undefined))).toMatch(/ACCESS_REFUSED/);
      expect(await refused(async (ch) => {
        ch.publish(topology.controlExchange, 'src', Buffer.from('{"request":"ledger","id":"1","from":"1","to":"9"}'), { userId: topology.user('full') });
        await ch.waitForConfirms();
      })).toMatch(/ACCESS_REFUSED/);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  /** Every department's ledger, entry for entry, in the centre's copy, complete and checked (up to the heads read: a live exchange goes on). */
  async function converged(): Promise<void> {
    const heads = new Map<string, string>();
    await waitFor('the centre holding every ledger whole', async () => {
      for (const [d, db] of Object.entries(dbs())) {
        const [head] = await db.query<{ seq: string }>(sql`SELECT seq FROM dxg_ledger_head WHERE id = 1`);
        const [state] = await centreDb.query<{ contiguous: string }>(sql`SELECT contiguous FROM centre_departments WHERE department = ${d}`);
        if (!state || BigInt(state.contiguous) < BigInt(head.seq)) return false;
        heads.set(d, String(head.seq));
      }
      return true;
    }, 60_000);
    for (const [d, db] of Object.entries(dbs())) {
      const upTo = heads.get(d)!;
      const own = await db.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM dxg_ledger WHERE seq <= ${upTo} ORDER BY seq`);
      const copy = await centreDb.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM centre_ledger WHERE department = ${d} AND seq <= ${upTo} ORDER BY seq`);
      expect([d, copy.map((r) => `${r.seq}:${r.hash}`)]).toEqual([d, own.map((r) => `${r.seq}:${r.hash}`)]);
    }
  }

  async function loginAs(name: string, pw: string): Promise<string> {
    const r = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: pw }) });
    if (r.status !== 200) throw new Error(`login of ${name}: ${r.status}`);
    return ((await r.json()) as { token: string }).token;
  }

  async function api<T>(path: string): Promise<T> {
    if (!token) {
      const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'auditor1', password }) });
      token = ((await login.json()) as { token: string }).token;
    }
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async function dxgWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return await x.ex.dxg(...args);
    } finally {
      process.env = saved;
    }
  }

  async function okWith(env: Record<string, string>, ...args: string[]): Promise<string> {
    const r = await dxgWith(env, ...args);
    if (r.code !== 0) throw new Error(`dxg ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** An event on the audit feed under the department's own name and broker user: what anyone holding its credentials can send. */
  async function publishFeed(department: string, type: string, event: object): Promise<void> {
    const { config } = loadProject(x.ex.config).project!;
    const topology = Topology.of(config);
    const conn = await amqp.connect(departmentBrokerUrl(x.ex, department));
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(topology.auditExchange, `${department}.${type}`, Buffer.from(JSON.stringify(event)), { userId: topology.user(department), messageId: `${type}-${Date.now()}` });
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
  }

  /** A key announcement on the audit feed, as the department's own broker user could send it. */
  async function publishKey(department: string, announcement: { publicKey: string; proof: string; endorsement?: string }): Promise<void> {
    const { config } = loadProject(x.ex.config).project!;
    const topology = Topology.of(config);
    const conn = await amqp.connect(departmentBrokerUrl(x.ex, department));
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(topology.auditExchange, `${department}.key`, Buffer.from(JSON.stringify({ type: 'key', department, announcement })), { userId: topology.user(department), messageId: 'k1' });
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
  }

  async function purge(queue: string): Promise<number> {
    const { config } = loadProject(x.ex.config).project!;
    const conn = await amqp.connect(config.broker.url);
    try {
      const ch = await conn.createChannel();
      const { messageCount } = await ch.purgeQueue(queue);
      return messageCount;
    } finally {
      await conn.close();
    }
  }
});
