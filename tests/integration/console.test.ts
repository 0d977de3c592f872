/// <reference lib="dom" />
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { connect, dropDatabase, sql } from '../../adapters';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { inject, waitFor } from '../helpers/broker';
import { MYSQL_SERVER, PG_SERVER } from '../helpers/databases';
import { ROOT, TestExchange, type Background } from '../helpers/exchange';
import { freePort } from '../helpers/ports';

/**
 * The web console (DESIGN §10) in a real browser — Debian's chromium, driven by playwright-core —
 * after the demo: what each role sees equals what the command line says, an approval given in the
 * browser makes the broker deliver, a tampered ledger shows as broken, and an identity number is
 * shown unmasked only when asked with a reason, which the centre records. Screenshots of every page
 * go to test-output/console/.
 */
const CHROMIUM = process.env.DXG_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'console');
const tag = `${process.pid}_${Date.now().toString(36)}`;
const ENGINES = { amr: 'postgres', tax: 'mysql', qs: 'postgres', police: 'mysql', civil: 'postgres' } as const;
type Dept = keyof typeof ENGINES;
const dbName = (d: string) => `dxg_cons_${tag}_${d}`;
const urlOf = (d: Dept) => `${ENGINES[d] === 'postgres' ? PG_SERVER : MYSQL_SERVER}/${dbName(d)}`;
// polled every second here (the shipped flows poll every 30 s)
const FLOWS = Object.fromEntries(['enterprise-basic', 'person-basic'].map((f) => [f, readFileSync(join(ROOT, 'flows', `${f}.yaml`), 'utf8').replace('*/30 * * * * *', '* * * * * *')]));
const LOGINS = { auditor: 'demo-auditor', operator: 'demo-operator', 'approver-police': 'demo-approver' } as const;

describe('the web console in a browser', () => {
  let ex: TestExchange;
  let base: string;
  let centre: Background;
  let nodes: Background;
  let browser: Browser;
  const db = (d: Dept) => connect({ driver: ENGINES[d], url: urlOf(d), pool: 1 }, `console test ${d}`);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ex = new TestExchange(Object.fromEntries(Object.entries(ENGINES).map(([d, driver]) => [d, { driver, url: urlOf(d as Dept) }])), FLOWS);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ex.addCentre({ databaseUrl: `${PG_SERVER}/${dbName('centre')}`, port, silentAfter: '30s' });
    ex.addCatalog(Object.fromEntries(readdirSync(join(ROOT, 'catalog')).map((f) => [f.replace(/\.yaml$/, ''), readFileSync(join(ROOT, 'catalog', f), 'utf8')])));
    const demo = await ex.dxg('demo', '--enterprises', '200', '--persons', '200', '--seed', '7');
    if (demo.code !== 0) throw new Error(`dxg demo failed:\n${demo.stdout}\n${demo.stderr}`);
    centre = ex.centre();
    nodes = ex.up();
    await waitFor('the centre', () => fetch(`${base}/ready`).then((r) => r.status === 200, () => false), 60_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([nodes?.stop(), centre?.stop()]);
    await ex?.destroy();
    for (const d of Object.keys(ENGINES) as Dept[]) await dropDatabase({ driver: ENGINES[d], url: urlOf(d) });
    await dropDatabase({ driver: 'postgres', url: `${PG_SERVER}/${dbName('centre')}` });
  });

  /** A fresh browser session, in China's time zone, logged in as the demo user. */
  async function as(name: keyof typeof LOGINS, locale = 'zh-CN'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'Asia/Shanghai', locale });
    const page = await context.newPage();
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(base);
    await page.fill('input[name=user]', name);
    await page.fill('input[name=password]', LOGINS[name]);
    await page.click('button[type=submit]');
    await page.waitForSelector('header nav');
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const cells = (page: Page, table: string) => page.$$eval(`${table} tbody tr`, (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((c) => (c.textContent ?? '').trim())));
  const number = (text: string) => Number(text.replace(/[,，\s]/g, ''));

  it('opens at a login page under 300 KB, in Chinese first, and renders it at once', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const first = await page.goto(base, { waitUntil: 'load' });
    // no page of another site may frame it, nor the console load anything from elsewhere; and it runs under that policy (every test here does)
    expect(first!.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(first!.headers()['x-frame-options']).toBe('SAMEORIGIN');
    expect((await fetch(`${base}/api/status`)).headers.get('cache-control')).toBe('no-store');
    await page.waitForSelector('form.login');
    const weight = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return { bytes: nav.encodedBodySize + resources.reduce((n, r) => n + r.encodedBodySize, 0), files: resources.length + 1, firstContentfulPaintMs: paint ? Math.round(paint.startTime) : null };
    });
    // measured, not timed: the weight is the contract; the paint time is reported (test-output/console/first-page.json)
    writeFileSync(join(SHOTS, 'first-page.json'), JSON.stringify(weight, null, 2));
    expect(weight.bytes).toBeLessThan(300 * 1024);
    expect(weight.files).toBe(3);
    expect(await page.textContent('h1')).toBe('dxg 数据交换中心');
    expect(violations).toEqual([]);
    await shot(page, 'login');
    await page.fill('input[name=user]', 'auditor');
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('登录失败: 用户名或密码错误');
    // logging out ends the login at the centre: the token is refused from then on
    await page.fill('input[name=password]', LOGINS.auditor);
    await page.click('button[type=submit]');
    await page.waitForSelector('header nav');
    const token = await page.evaluate(() => sessionStorage.getItem('dxg-token'));
    await page.click('header button:last-child');
    await page.waitForSelector('form.login');
    expect((await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await context.close();
  });

  it("shows an auditor the overview with dxg status's numbers, every page but the actions, and a record's trail as dxg audit --key", async () => {
    const page = await as('auditor');
    const status = JSON.parse(await ex.ok('status', '--format', 'json')) as { flow: string; target: string; extracted: number; published: number; applied: number; rejected: number; withheld: number }[];
    await page.waitForSelector('#targets tbody tr td a');
    const rows = await cells(page, '#targets');
    for (const s of status) {
      const row = rows.find((r) => r[0] === s.flow && r[1].endsWith(`→ ${s.target}`))!;
      expect([row[2], row[3], row[4], row[5], row[8]].map(number)).toEqual([s.extracted, s.published, s.applied, s.rejected, s.withheld]);
    }
    // the lag chart's legend in Chinese, not uPlot's English
    const legend = await (await page.waitForSelector('.chart .u-legend')).textContent();
    expect(legend).toContain('时间');
    await shot(page, 'auditor-overview');
    expect(await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(['#/overview', '#/audit', '#/quarantine', '#/catalog', '#/applications', '#/nodes', '#/journal']);

    // one person's trail: masked as the centre answers an auditor, the same entries as the command line
    const police = await db('police');
    const [{ sfzh }] = await police.query<{ sfzh: string }>(sql`SELECT sfzh FROM rk_person WHERE sfzh NOT IN (SELECT record_key FROM dxg_quarantine) ORDER BY sfzh LIMIT 1`);
    await police.close();
    await page.goto(`${base}/#/audit?key=${sfzh}`);
    // a look at one person needs a reason, masked or not: a search says whether a key exists (a hostile review guessed identity numbers so)
    await page.click('form.filters button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('须填写理由');
    expect(await page.$('#trail li')).toBeNull();
    await page.fill('input[name=reason]', '核查 2026-117');
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('#trail li');
    const cli = JSON.parse(await ex.ok('audit', '--key', sfzh, '--format', 'json')) as { ledger: string; seq: number }[];
    const shown = await page.$$eval('#trail li', (items) => items.map((li) => li.textContent ?? ''));
    expect(shown).toHaveLength(cli.length);
    cli.forEach((e, i) => expect(shown[i]).toContain(`${e.ledger} #${e.seq}`));
    // the entries' kinds in Chinese: the target's apply is 入库
    expect(shown.some((li) => li.includes('入库'))).toBe(true);
    const text = await page.textContent('main');
    // what the centre sent, and the key typed as shown back: masked
    expect(text).not.toContain(sfzh);
    expect(text).toContain(`${sfzh.slice(0, 6)}********${sfzh.slice(14)}`);
    await shot(page, 'auditor-audit-trail');
    // the entries download as CSV, the keys masked as shown
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(exported.split(/\r?\n/)[0]).toBe('\ufeff时间,部门,seq,类型,流程,发送方,接收方,记录数,记录键,说明');
    expect(exported).toContain(`${sfzh.slice(0, 6)}********${sfzh.slice(14)}`);
    expect(exported).not.toContain(sfzh);

    // unmasked only with a reason, and the look is recorded
    await page.fill('input[name=reason]', '');
    await page.check('input[name=reveal]');
    await page.click('form.filters button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('须填写理由');
    // refused: what was on screen answered another search, and is gone rather than pass for this one's answer
    expect(await page.$('#trail li')).toBeNull();
    expect(await page.$('#entries')).toBeNull();
    await page.fill('input[name=reason]', '低保复核 2026-118');
    await page.click('form.filters button[type=submit]');
    await page.waitForFunction((key) => document.querySelector('#entries')?.textContent?.includes(key), sfzh);
    // that record's key only: the other people of its envelopes stay masked
    expect(await page.textContent('#entries')).toMatch(/\d{6}\*{8}\d{3}[0-9X]/);
    const token = await page.evaluate(() => sessionStorage.getItem('dxg-token'));
    await waitFor('the look recorded in the journal', async () => {
      const journal = await (await fetch(`${base}/api/journal`, { headers: { authorization: `Bearer ${token}` } })).json() as { actor: string; action: string; reason: string }[];
      return journal.some((j) => j.actor === 'auditor' && j.action === 'look unmasked: trail' && j.reason === '低保复核 2026-118');
    }, 10_000);
    // every look at that person, found by the whole key (the journal keeps it masked), each saying what it found
    const auth = { headers: { authorization: `Bearer ${token}` } };
    // an entry shown masked comes without its hash, which the masked digits could be tried against (a hostile review recovered identity numbers so)
    const logged = (await (await fetch(`${base}/api/audit?since=7d&limit=2000`, auth)).json()) as { entries: { keys: string[]; hash: string | null; flow: string }[] };
    const personal = logged.entries.filter((e) => e.keys.some((k) => /\*{8}/.test(k)));
    expect(personal.length).toBeGreaterThan(0);
    expect(personal.filter((e) => e.hash !== null)).toEqual([]);
    expect(logged.entries.filter((e) => e.flow === 'enterprise-basic' && e.hash !== null).length).toBeGreaterThan(0);
    expect((await fetch(`${base}/api/journal?key=${sfzh}`, auth)).status).toBe(400);
    // however the key is spelt, the look is found by it and journaled masked; a reason with a NUL is refused before anything is searched
    const spelt = encodeURIComponent(`["\\u00${sfzh.charCodeAt(0).toString(16)}${sfzh.slice(1)}"]`);
    expect((await fetch(`${base}/api/trail?key=${spelt}&reason=${encodeURIComponent('另一种写法')}`, auth)).status).toBe(200);
    expect((await fetch(`${base}/api/trail?key=${sfzh}&reason=x%00`, auth)).status).toBe(400);
    const looks = await (await fetch(`${base}/api/journal?key=${sfzh}&reason=${encodeURIComponent('谁查看过此人')}`, auth)).json() as { action: string; subject: string; reason: string }[];
    expect(looks.map((l) => [l.action, l.reason])).toEqual(expect.arrayContaining([['look: trail', '核查 2026-117'], ['look unmasked: trail', '低保复核 2026-118'], ['look: trail', '另一种写法']]));
    expect(looks.every((l) => !l.subject.includes(sfzh) && / → \d+ entries$/.test(l.subject))).toBe(true);
    expect((await fetch(`${base}/api/audit?key=${sfzh.slice(0, 17)}0`, auth)).status).toBe(400);

    // the quarantine page reveals records only with a reason: masked first, a birth date beside the identity number once revealed
    await page.goto(`${base}/#/quarantine`);
    await page.fill('.filters input >> nth=0', 'police');
    await page.press('.filters input >> nth=0', 'Enter');
    await page.waitForSelector('#quarantine td code');
    expect(await page.textContent('#quarantine')).not.toMatch(/"birth_date":"\d{4}-\d{2}-\d{2}"/);
    await page.check('.filters input[name=reveal]');
    await page.click('#show');
    expect(await page.textContent('[role=alert]')).toContain('须填写理由');
    await page.fill('.filters input[name=reason]', '低保复核 2026-119');
    await page.click('#show');
    await page.waitForFunction(() => /"birth_date":"\d{4}-\d{2}-\d{2}"/.test(document.querySelector('#quarantine')?.textContent ?? ''));
    await shot(page, 'auditor-quarantine-revealed');
    // the stages and the catalog's update cycles in Chinese too
    const stages = new Set(await page.$$eval('#quarantine .badge', (badges) => badges.map((b) => b.textContent ?? '')));
    expect(stages.size).toBeGreaterThan(0);
    expect([...stages].filter((x) => !['来源端', '目标端', '死信'].includes(x))).toEqual([]);
    await page.goto(`${base}/#/catalog`);
    // a resource's link: the table says 无 in one cell until the catalog has loaded
    await page.waitForSelector('#catalog td a');
    expect(await page.$$eval('#catalog tbody tr', (rows) => rows.map((r) => r.children[4]?.textContent ?? ''))).toEqual(expect.arrayContaining([expect.stringMatching(/^(实时|每日|每周|每月|每季度|每年)$/)]));

    const pages = { 'flows/person-basic': '#flow-targets td', quarantine: '#quarantine td', catalog: '#catalog td a', 'catalog/person.basic': '#items td', applications: '#applications td', nodes: '#nodes td' };
    for (const [p, shown] of Object.entries(pages)) {
      await page.goto(`${base}/#/${p}`);
      await page.waitForSelector(shown, { timeout: 30_000 });
      await shot(page, `auditor-${p.replace(/\//g, '-')}`);
    }
    // a 1366 px laptop screen shows every column of the overview and the applications without scrolling sideways, in either language
    for (const locale of ['zh-CN', 'en-US']) {
      const narrow = await as('auditor', locale);
      await narrow.setViewportSize({ width: 1366, height: 768 });
      const fits = (table: string) => narrow.$eval(table, (d) => d.scrollWidth <= d.clientWidth);
      await narrow.waitForSelector('#targets tbody tr td a');
      expect([locale, await fits('#targets')]).toEqual([locale, true]);
      await narrow.goto(`${base}/#/applications`);
      // the applications themselves, not the table's one-cell empty row, which fits any screen
      await narrow.waitForFunction(() => (document.querySelector('#applications tbody tr')?.children.length ?? 0) > 1);
      expect([locale, await fits('#applications')]).toEqual([locale, true]);
      await narrow.context().close();
    }
    // what was set aside shows the catalog's sensitive items hidden unless revealed: a birth date beside a masked identity number would give it back
    const quarantined = async (query: string) => ((await (await fetch(`${base}/api/quarantine?department=police${query}`, { headers: { authorization: `Bearer ${token}` } })).json()) as
      { items: { record_key: string; record: Record<string, unknown> | null }[] }).items.filter((i) => i.record && 'birth_date' in i.record);
    const hidden = await quarantined('');
    expect(hidden.length).toBeGreaterThan(0);
    for (const i of hidden) {
      expect([i.record!.name, i.record!.birth_date, i.record!.household_address].every((v) => v === '***' || v === null)).toBe(true);
      expect(i.record!.gender).not.toBe('***');
      expect(i.record_key).toMatch(/^\d{6}\*{8}/);
    }
    const shownWhole = await quarantined('&reveal=true&reason=%E4%BD%8E%E4%BF%9D%E5%A4%8D%E6%A0%B8');
    expect(shownWhole.some((i) => /^\d{4}-\d{2}-\d{2}$/.test(String(i.record!.birth_date)))).toBe(true);
    // an auditor reads applications but answers none
    expect(await page.$$('[data-action]')).toHaveLength(0);
    expect(await page.$('form.apply')).toBeNull();
    await page.context().close();
  });

  it("gives an approver only its pages, the API refusing the rest; an application approved in the browser makes the broker deliver", async () => {
    const { config } = loadProject(ex.config).project!;
    const queue = Topology.of(config).flowQueue('civil', 'person-basic');
    const approver = await as('approver-police');
    expect(await approver.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(['#/overview', '#/catalog', '#/applications']);
    await approver.goto(`${base}/#/audit`);
    expect(await approver.textContent('main')).toContain('当前角色无权查看');
    const token = await approver.evaluate(() => sessionStorage.getItem('dxg-token'));
    expect((await fetch(`${base}/api/audit`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);

    // before: the demo's grant was revoked; a change at police does not reach civil
    const police = await db('police');
    const civil = await db('civil');
    const [{ sfzh }] = await police.query<{ sfzh: string }>(sql`SELECT sfzh FROM rk_person WHERE sfzh NOT IN (SELECT record_key FROM dxg_quarantine) ORDER BY sfzh DESC LIMIT 1`);
    await police.execute(sql`UPDATE rk_person SET xm = ${'甲乙丙'} WHERE sfzh = ${sfzh}`);
    await waitFor('the change withheld from civil', async () => {
      const s = (JSON.parse(await ex.ok('status', '--format', 'json')) as { flow: string; withheld: number; extracted: number }[]).find((r) => r.flow === 'person-basic')!;
      return s.extracted > 0 && (await police.query<{ n: string }>(sql`SELECT count(*) AS n FROM dxg_ledger WHERE kind = 'extract' AND detail LIKE '%"withheld":{"civil":1}%'`))[0].n !== '0';
    }, 60_000);
    expect((await civil.query<{ name: string }>(sql`SELECT name FROM mz_resident WHERE id_number = ${sfzh}`))[0].name).not.toBe('甲乙丙');

    // the flow's page says civil receives under no grant, and why
    const coverOf = async () => ((await (await fetch(`${base}/api/flows`, { headers: { authorization: `Bearer ${token}` } })).json()) as
      { id: string; targets: { department: string; cover: { ok: boolean; grant?: string; problem?: string } | null }[] }[])
      .find((f) => f.id === 'person-basic')!.targets.find((x) => x.department === 'civil')!.cover;
    expect(await coverOf()).toMatchObject({ ok: false, problem: expect.stringContaining('civil') });
    await approver.goto(`${base}/#/flows/person-basic`);
    expect(await approver.textContent('#flow-targets')).toContain('授权未覆盖');

    // a grant approved for fewer items than civil maps covers nothing: the approval says so at once
    const post = async (path: string, body: object, bearer: string) => (await fetch(`${base}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })).json() as Promise<Record<string, unknown>>;
    const { token: operatorToken } = await post('/api/login', { name: 'operator', password: LOGINS.operator }, '') as { token: string };
    const partial = (await post('/api/applications', { resource: 'person.basic', department: 'civil', items: ['id_number', 'name', 'gender'], purpose: '仅核验身份', basis: '《社会救助暂行办法》第十一条' }, operatorToken)).application as { id: string };
    const approved = await post(`/api/applications/${partial.id}/approve`, { reason: '同意' }, token!) as { uncovered: string[] };
    expect(approved.uncovered).toEqual([expect.stringMatching(/^person-basic → civil: .*does not cover/)]);
    await post(`/api/applications/${partial.id}/revoke`, { reason: '以完整申请代替' }, token!);
    expect(await coverOf()).toMatchObject({ ok: false });

    // the operator applies in the browser
    const operator = await as('operator');
    await operator.goto(`${base}/#/applications`);
    await operator.selectOption('select[name=resource]', 'person.basic');
    for (const item of ['id_number', 'name', 'gender', 'birth_date', 'household_region', 'marital_status', 'deceased', 'death_date', 'low_income', 'updated_at']) await operator.check(`input[name=item-${item}]`);
    await operator.fill('input[name=department]', 'civil');
    await operator.fill('input[name=purpose]', '低保年度复核');
    await operator.fill('input[name=basis]', '《社会救助暂行办法》第十一条');
    await operator.click('#apply');
    const note = await operator.waitForSelector('[role=status]');
    const id = /^(A\d+)/.exec((await note.textContent()) ?? '')![1];
    await shot(operator, 'operator-applications');

    // the provider's approver approves it in the browser: the broker binds civil's queue again
    await approver.goto(`${base}/#/applications`);
    await approver.waitForSelector(`[data-action=approve-${id}]`);
    await shot(approver, 'approver-applications');
    // on a 1366 px screen the approver's buttons are in sight, not past the table's edge
    await approver.setViewportSize({ width: 1366, height: 768 });
    const box = (await (await approver.$(`[data-action=reject-${id}]`))!.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(1366 - 16);
    expect(await approver.$eval('#applications', (d) => d.scrollWidth <= d.clientWidth)).toBe(true);
    await approver.click(`[data-action=approve-${id}]`);
    await approver.click('dialog #confirm');
    expect(await (await approver.waitForSelector('[role=status]')).textContent()).toContain('person-basic → civil');
    const bindings = await (await fetch(`http://127.0.0.1:15672/api/queues/%2F/${encodeURIComponent(queue)}/bindings`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).json() as { source: string }[];
    expect(bindings.map((b) => b.source)).toContain(Topology.of(config).recordsExchange('police'));
    await police.execute(sql`UPDATE rk_person SET xm = ${'丁戊己'} WHERE sfzh = ${sfzh}`);
    await waitFor('the change delivered to civil under the new grant', async () => (await civil.query<{ name: string }>(sql`SELECT name FROM mz_resident WHERE id_number = ${sfzh}`))[0].name === '丁戊己', 60_000);
    const [apply] = await civil.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'apply' ORDER BY seq DESC LIMIT 1`);
    expect(JSON.parse(apply.detail).grant).toBe(id);
    expect(await coverOf()).toEqual({ ok: true, grant: id });
    await police.close();
    await civil.close();
    await approver.context().close();
    await operator.context().close();
  });

  it('lets an operator clear an alarm with a reason, recorded in the journal', async () => {
    // a message qs cannot take: a dead letter there, an alarm at the centre
    await inject(Topology.of(loadProject(ex.config).project!.config).flowQueue('qs', 'enterprise-basic'), Buffer.from('not an envelope'), { messageId: 'console-garbage' });
    const operator = await as('operator');
    await operator.goto(`${base}/#/overview`);
    const button = await operator.waitForSelector('#alarms [data-action^=clear-]', { timeout: 60_000 });
    const id = (await button.getAttribute('data-action'))!.replace('clear-', '');
    expect(await button.isDisabled()).toBe(true);
    expect(await operator.textContent('#alarms tbody')).toContain('死信');
    await operator.fill('#clear-reason', '已核实：测试注入的报文');
    await shot(operator, 'operator-clear-alarm');
    await button.click();
    await operator.waitForSelector(`[data-action=clear-${id}]`, { state: 'detached' });
    const token = await operator.evaluate(() => sessionStorage.getItem('dxg-token'));
    const open = (await (await fetch(`${base}/api/alarms?open=true`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: string }[];
    expect(open.map((a) => a.id)).not.toContain(id);
    // an application the centre grants at once says which flow targets it can bind: none, for a department that receives no flow of the resource
    const granted = await (await fetch(`${base}/api/applications`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resource: 'enterprise.basic', department: 'civil', items: ['uscc', 'name'], purpose: '测试', basis: '测试依据' }) })).json() as { application: { state: string }; targets: string[] };
    expect([granted.application.state, granted.targets]).toEqual(['approved', []]);
    // nor can an operator unmark the catalog's sensitive items by publishing it, to read them unmasked (a hostile review did)
    const asOp = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const person = (await (await fetch(`${base}/api/catalog/person.basic`, { headers: asOp })).json()) as { items: { name: string; sensitive: boolean }[] };
    const unmarked = await fetch(`${base}/api/catalog`, { method: 'POST', headers: asOp, body: JSON.stringify({ entries: [{ ...person, items: person.items.map((i) => ({ ...i, sensitive: false })) }] }) });
    expect([unmarked.status, ((await unmarked.json()) as { error: string }).error]).toEqual([400, expect.stringMatching(/items .*name.* are sensitive in the centre's catalog folder and stay marked/)]);
    // the journal page shows who cleared it, and why
    await operator.goto(`${base}/#/journal`);
    // in the reader's language: the journal's actions, as the alarm's kind was (the table says 无 until the journal has loaded)
    await operator.waitForSelector('#journal tbody tr:has-text("清除告警")');
    const row = (await cells(operator, '#journal')).find((r) => r[3] === '清除告警' && r[4] === id);
    expect(row?.slice(2)).toEqual(['operator', '清除告警', id, '已核实：测试注入的报文']);
    await shot(operator, 'operator-journal');
    await operator.context().close();
  });

  it('shows a tampered ledger as broken, in English too', async () => {
    const civil = await db('civil');
    await civil.execute(sql`UPDATE dxg_ledger SET record_count = record_count + 1 WHERE seq = 2`);
    await civil.close();
    const page = await as('auditor', 'en-GB');
    await page.goto(`${base}/#/audit`);
    await page.click('#verify');
    await page.waitForSelector('#verdict', { timeout: 60_000 });
    const rows = await cells(page, '#verdict');
    expect(rows.find((r) => r[0] === 'civil')![1]).toBe('broken');
    expect(rows.find((r) => r[0] === 'amr')![1]).toBe('intact');
    await shot(page, 'auditor-verify-broken');
  });
});
