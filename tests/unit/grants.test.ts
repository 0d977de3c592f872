import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkingCalendar } from '../../gateway/centre/calendar';
import type { Flow } from '../../gateway/config/model';
import { open, sealJson } from '../../gateway/envelope/envelope';
import { Keyring } from '../../gateway/envelope/keys';
import { Governance } from '../../gateway/grants/governance';
import { grantListText, keepGrants, type ListedGrant, type SignedGrantList } from '../../gateway/grants/list';

describe('the working-day calendar of applications', () => {
  // 2026-10-01 (Thursday) to 10-07 is the national holiday; Sunday 09-27 and Saturday 10-10 are worked (调休)
  const calendar = new WorkingCalendar(new Set(['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07']), new Set(['2026-09-27', '2026-10-10']));
  const at = (date: string) => new Date(`${date}T10:00:00`);

  it('counts Monday to Friday without a calendar file, the day of submission not counting', () => {
    const plain = new WorkingCalendar();
    expect(plain.addWorkingDays(at('2026-12-04'), 1)).toBe('2026-12-07'); // a Friday: the answer is due on Monday
    expect(plain.addWorkingDays(at('2026-12-03'), 10)).toBe('2026-12-17');
  });

  it('skips holidays and counts the weekend days declared working days', () => {
    expect(calendar.addWorkingDays(at('2026-09-25'), 1)).toBe('2026-09-27'); // Friday → the worked Sunday
    expect(calendar.addWorkingDays(at('2026-09-30'), 1)).toBe('2026-10-08'); // over the holiday
    expect(calendar.addWorkingDays(at('2026-09-30'), 3)).toBe('2026-10-10'); // 10-08, 10-09, the worked Saturday
  });

  it('refuses a calendar file with an unknown key or a date that does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dxg-calendar-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(() => WorkingCalendar.read(file('a.yaml', 'holidays: [2026-10-01]\nworkday: [2026-09-27]\n'))).toThrow(/unknown key workday: a calendar has holidays: and workdays:/);
    expect(() => WorkingCalendar.read(file('b.yaml', 'holidays: ["2026-13-01"]\n'))).toThrow(/holidays: '2026-13-01' is not a date/);
    expect(WorkingCalendar.read(file('c.yaml', 'holidays: [2026-10-01]\nworkdays: [2026-09-27]\n')).isWorkingDay('2026-09-27')).toBe(true);
  });

  it('says how many working days are left, negative once overdue', () => {
    expect(calendar.workingDaysBetween(at('2026-09-30'), '2026-10-09')).toBe(2);
    expect(calendar.workingDaysBetween(at('2026-10-12'), '2026-10-09')).toBe(-2);
  });
});

describe('governance: which targets may receive', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dxg-grants-'));
  const keyring = new Keyring(dir);
  keyring.generate(['centre', 'src']);
  const centreKey = () => keyring.publicKey('centre');
  const flow = { id: 'items', resource: 'test.item', targets: [] } as unknown as Flow;
  const target = { department: 'full', fields: { code: 'code', title: 'title' } };
  const entries = (sharing: 'unconditional' | 'conditional' | 'none') => [{ resource: 'test.item', sharing: { type: sharing } }];
  const grant = (g: Partial<ListedGrant>): ListedGrant => ({
    id: 'A1', resource: 'test.item', department: 'full', items: ['code', 'title'], approvedAt: '2026-01-01T00:00:00Z', validUntil: null, ended: null, onEnd: 'keep', ...g,
  });
  const signed = (version: number, grants: ListedGrant[]): SignedGrantList => {
    const body = { exchange: 'x', version, issuedAt: new Date().toISOString(), grants };
    return { ...body, signature: keyring.sign('centre', grantListText(body)) };
  };

  it('lets every target receive in an exchange without a catalog, and an unconditional resource without a grant', () => {
    expect(new Governance(null, null, centreKey, 'x').cover(flow, target)).toEqual({ ok: true, grant: null });
    expect(new Governance(entries('unconditional'), null, centreKey, 'x').cover(flow, target)).toEqual({ ok: true, grant: 'unconditional' });
    expect(new Governance(entries('none'), signed(1, [grant({})]), centreKey, 'x').cover(flow, target)).toMatchObject({ ok: false });
  });

  it('needs a grant in force covering every indicator the target maps', () => {
    const g = (grants: ListedGrant[]) => new Governance(entries('conditional'), signed(1, grants), centreKey, 'x').cover(flow, target);
    expect(new Governance(entries('conditional'), null, centreKey, 'x').cover(flow, target)).toMatchObject({ ok: false, problem: expect.stringContaining('no grant list from the centre') });
    expect(g([grant({})])).toEqual({ ok: true, grant: 'A1' });
    expect(g([grant({ items: ['code'] })])).toMatchObject({ ok: false, problem: expect.stringContaining('does not cover title') });
    expect(g([grant({ department: 'part' })])).toMatchObject({ ok: false, problem: expect.stringContaining('full has no approved grant') });
    expect(g([grant({ ended: { at: '2026-02-01T00:00:00Z', as: 'revoked', reason: 'end' } })])).toMatchObject({ ok: false, problem: expect.stringContaining('grant A1 revoked') });
    expect(g([grant({ validUntil: '2026-01-02T00:00:00Z' })])).toMatchObject({ ok: false });
  });

  it('takes only a newer list the centre signed, and tells which grants it ends', () => {
    const governance = new Governance(entries('conditional'), signed(5, [grant({})]), centreKey, 'x');
    expect(governance.adopt(signed(4, []))).toBeNull();
    expect(governance.version).toBe(5);
    const forged = { ...signed(6, [grant({ id: 'A9', department: 'part' })]), signature: keyring.sign('src', 'anything') };
    expect(() => governance.adopt(forged)).toThrow(/not signed by the centre/);
    const tampered = { ...signed(7, [grant({})]) };
    tampered.grants = [grant({ items: ['code', 'title', 'amount'] })];
    expect(() => governance.adopt(tampered)).toThrow(/not signed by the centre/);
    const ended = governance.adopt(signed(8, [grant({ ended: { at: '2026-02-01T00:00:00Z', as: 'revoked', reason: 'end' } })]));
    expect(ended!.map((g) => g.id)).toEqual(['A1']);
  });

  it('takes no grant list of another exchange, signed or kept (two configs may share a keys folder; found by a tester)', () => {
    const other = (() => {
      const body = { exchange: 'y', version: 9, issuedAt: new Date().toISOString(), grants: [grant({})] };
      return { ...body, signature: keyring.sign('centre', grantListText(body)) };
    })();
    expect(() => new Governance(entries('conditional'), null, centreKey, 'x').adopt(other)).toThrow("a grant list of exchange 'y', not of 'x'");
    const keys = mkdtempSync(join(tmpdir(), 'dxg-kept-'));
    keepGrants(keys, other);
    expect(Governance.kept(entries('conditional'), keys, centreKey, 'x').cover(flow, target)).toMatchObject({ ok: false, problem: expect.stringContaining('no grant list from the centre') });
    expect(Governance.kept(entries('conditional'), keys, centreKey, 'y').cover(flow, target)).toEqual({ ok: true, grant: 'A1' });
  });

  it('has every envelope name its grant under the signature (format 3), and still reads format 2', async () => {
    const meta = { kind: 'records' as const, messageId: 'm1', flow: 'items', resource: 'test.item', from: 'src', to: 'full', sequence: 1, count: 0, head: { seq: '1', hash: 'a'.repeat(64) } };
    const withGrant = await sealJson(keyring, { ...meta, grant: 'A1' }, '{"records":[]}');
    expect(withGrant.headers['dxg-format']).toBe(3);
    const opened = await open(keyring, { messageId: 'm1', headers: withGrant.headers, body: withGrant.body }, 1e6);
    expect(opened.meta.grant).toBe('A1');
    await expect(open(keyring, { messageId: 'm1', headers: { ...withGrant.headers, 'dxg-grant': 'A2' }, body: withGrant.body }, 1e6)).rejects.toThrow(/signature does not verify/);
    const without = await sealJson(keyring, meta, '{"records":[]}');
    expect(without.headers['dxg-format']).toBe(2);
    expect((await open(keyring, { messageId: 'm1', headers: without.headers, body: without.body }, 1e6)).meta.grant).toBeUndefined();
  });
});
