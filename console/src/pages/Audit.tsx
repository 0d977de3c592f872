import { useState } from 'preact/hooks';
import { call, query, type User } from '../api';
import { Badge, Loading, Problem, Table } from '../components';
import { csv, dateTime, download, masked, num } from '../format';
import { entryLabel, t } from '../i18n';
import type { TrailEntry, Verdict } from '../types';

interface Search { flow: string; department: string; since: string; until: string; key: string; reveal: boolean; reason: string }

const brief = (e: TrailEntry): string => {
  const d = e.detail ?? {};
  const parts: string[] = [];
  if (d.grant) parts.push(`${t('grant')} ${String(d.grant)}`);
  if (d.reasons) parts.push(Object.entries(d.reasons as Record<string, number>).map(([r, n]) => `${n}× ${r}`).join('; '));
  if (d.reason) parts.push(String(d.reason));
  return parts.join(' · ');
};

/** The collected exchange log: search, one record's trail as a timeline, CSV export, and the ledgers' verification. */
export function Audit({ params }: { params: URLSearchParams; user: User }) {
  const [form, setForm] = useState<Search>({ flow: '', department: '', since: '24h', until: '', key: params.get('key') ?? '', reveal: false, reason: '' });
  const [entries, setEntries] = useState<TrailEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [trail, setTrail] = useState<TrailEntry[] | null>(null);
  // what the trail on screen was asked with: the form may have changed since (a reveal ticked but refused)
  const [asked, setAsked] = useState<{ key: string; reveal: boolean }>({ key: '', reveal: false });
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof Search) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).type === 'checkbox' ? (e.currentTarget as HTMLInputElement).checked : (e.currentTarget as HTMLInputElement).value });
  const run = async (cursor?: string) => {
    setError(null);
    // a look at one record by its key, or unmasked, is recorded with its reason
    const reason = form.reveal || form.key.trim() ? form.reason.trim() : '';
    if ((form.reveal || form.key.trim()) && !reason) {
      // what is on screen answered another search: it must not pass for this one's answer
      setEntries(null);
      setTrail(null);
      return setError(t('reasonRequired'));
    }
    setBusy(true);
    try {
      const q = { flow: form.flow, department: form.department, since: form.since, until: form.until, key: form.key, reveal: form.reveal || undefined, reason: reason || undefined, limit: 500, cursor };
      const page = await call<{ entries: TrailEntry[]; next: string | null }>(`/api/audit${query(q)}`);
      setEntries(cursor ? [...(entries ?? []), ...page.entries] : page.entries);
      setNext(page.next);
      setTrail(form.key ? (await call<{ entries: TrailEntry[] }>(`/api/trail${query({ key: form.key, reveal: form.reveal || undefined, reason })}`)).entries : null);
      setAsked({ key: form.key, reveal: form.reveal });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const verify = async () => {
    setVerdict(null);
    try {
      setVerdict(await call<Verdict>('/api/verify?wait=10'));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const head = [t('at'), t('department'), 'seq', t('kind'), t('flow'), t('from'), t('to'), t('records'), t('key'), t('detail')];
  const cells = (e: TrailEntry) => [dateTime(e.at), e.ledger, e.seq, entryLabel(e.kind), e.flow ?? '', e.from ?? '', e.to ?? '', e.count, e.keys.slice(0, 3).join(', ') + (e.keys.length > 3 ? ` … (+${num(e.keys.length - 3)})` : ''), brief(e)];
  return (
    <section>
      <h2>{t('audit')}</h2>
      <form class="filters" onSubmit={(e) => (e.preventDefault(), run())}>
        <label>{t('flow')}<input name="flow" value={form.flow} onInput={set('flow')} /></label>
        <label>{t('department')}<input name="department" value={form.department} onInput={set('department')} /></label>
        <label>{t('since')}<input name="since" value={form.since} onInput={set('since')} placeholder="24h, 7d, 2026-12-01" /></label>
        <label>{t('until')}<input name="until" value={form.until} onInput={set('until')} /></label>
        <label>{t('key')}<input name="key" value={form.key} onInput={set('key')} /></label>
        <label class="check"><input type="checkbox" name="reveal" checked={form.reveal} onChange={set('reveal')} />{t('reveal')}</label>
        {(form.reveal || form.key.trim() !== '') && <label>{t('revealReason')}<input name="reason" value={form.reason} onInput={set('reason')} /></label>}
        <button class="primary" type="submit" disabled={busy}>{t('search')}</button>
      </form>
      <Problem text={error} />
      {busy && <Loading />}
      {trail && (
        <div id="trail">
          <h3>{t('trailOf')}{asked.reveal ? asked.key : masked(asked.key)} {!asked.reveal && <Badge tone="info">{t('masked')}</Badge>}</h3>
          <ol class="timeline">
            {trail.map((e) => (
              <li>
                <time>{dateTime(e.at)}</time> <Badge tone={e.kind === 'reject' || e.kind === 'dead-letter' ? 'bad' : e.kind === 'apply' ? 'ok' : 'info'}>{entryLabel(e.kind)}</Badge>
                {' '}<strong>{e.ledger}</strong> #{e.seq} {e.flow} {e.from && `${e.from}${e.to ? ` → ${e.to}` : ''}`} · {e.count} {brief(e) && `· ${brief(e)}`}
              </li>
            ))}
          </ol>
        </div>
      )}
      {entries && (
        <>
          <div class="row">
            <span class="muted">{entries.length} {t('entries')}</span>
            <button id="export" onClick={() => download('dxg-audit.csv', csv(head.map(String), entries.map((e) => [e.at, e.ledger, e.seq, e.kind, e.flow, e.from, e.to, e.count, e.keys.join(' '), brief(e)])))}>{t('exportCsv')}</button>
            {next && <button onClick={() => run(next)}>{t('more')}</button>}
          </div>
          <Table id="entries" head={head} rows={entries.map(cells)} />
        </>
      )}
      <h3>{t('verify')}</h3>
      <button id="verify" onClick={verify}>{t('verifyRun')}</button>
      {verdict && (
        <div id="verdict">
          <p>{verdict.intact ? <Badge tone="ok">{t('intact')}</Badge> : <Badge tone="bad">{t('broken')}</Badge>}</p>
          <Table head={[t('department'), t('state'), t('nodeCheck'), t('collected'), t('ledgerHead'), t('countersigned'), t('detail')]}
            rows={verdict.departments.map((d) => [d.department, d.intact ? <Badge tone="ok">{t('intact')}</Badge> : <Badge tone="bad">{t('broken')}</Badge>,
              d.answered ? '✓' : <Badge tone="warn">{t('unanswered')}</Badge>, d.collected, d.head?.seq ?? '—',
              d.countersigned ? `${d.countersigned.seq} (${dateTime(d.countersigned.at)})` : '—', d.problems.join('; ')])} />
        </div>
      )}
    </section>
  );
}
