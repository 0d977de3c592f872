import { useState } from 'preact/hooks';
import { call, query, type User } from '../api';
import { Badge, Confirm, Loading, Problem, Table } from '../components';
import { dateTime } from '../format';
import { useLoad } from '../hooks';
import { stageLabel, t, tn } from '../i18n';
import type { QuarantineItem } from '../types';

/** The record as the centre sent it (masked), cut short: the whole is in the node's quarantine. */
const brief = (record: unknown): string => {
  const text = record === null || record === undefined ? '—' : typeof record === 'string' ? record : JSON.stringify(record);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
};

/** A department that gave no answer, with how long its node has been silent when the centre knows. */
function silentNote(department: string, silent: Record<string, number | null>): string {
  if (!(department in silent)) return department;
  const s = silent[department];
  return `${department} (${s === null ? t('silentSinceStart') : tn('silentFor', s)})`;
}

/** What was set aside, with the reason, asked of the nodes; an operator replays what is chosen, after a confirmation. */
export function Quarantine({ user }: { user: User }) {
  const [filter, setFilter] = useState({ department: '', flow: '', stage: '' });
  // unmasked only with a reason, which the centre records: what the form says, and what the list on screen was asked with
  const [look, setLook] = useState({ reveal: false, reason: '' });
  const [shown, setShown] = useState({ reveal: false, reason: '' });
  const data = useLoad(() => call<{ items: QuarantineItem[]; unanswered: string[]; silent: Record<string, number | null> }>(
    `/api/quarantine${query({ ...filter, reveal: shown.reveal || undefined, reason: shown.reveal ? shown.reason : undefined, limit: 1000 })}`), [filter, shown]);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const [asking, setAsking] = useState(false);
  const [result, setResult] = useState<{ text: string; again: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const idOf = (i: QuarantineItem) => `${i.department}:${i.id}`;
  // the nodes answer in any order: sorted, a row stays where it was between two loads
  const items = [...(data.value?.items ?? [])].sort((a, b) => a.department.localeCompare(b.department) || a.id - b.id);
  const operator = user.role === 'operator';
  const toggle = (i: QuarantineItem) => {
    const next = new Set(chosen);
    if (next.has(idOf(i))) next.delete(idOf(i));
    else next.add(idOf(i));
    setChosen(next);
  };
  const replay = async () => {
    setAsking(false);
    const picked = items.filter((i) => chosen.has(idOf(i)));
    const byDepartment = new Map<string, number[]>();
    for (const i of picked) byDepartment.set(i.department, [...(byDepartment.get(i.department) ?? []), i.id]);
    try {
      const lines: string[] = [];
      let again = false;
      for (const [department, ids] of byDepartment) {
        const r = await call<{ reports: { done: number; again: number; notes: string[] }[] }>('/api/replay', { method: 'POST', body: { department, ids, reason } });
        lines.push(`${department}: ${r.reports.map((x) => `${x.done} ${t('done')}, ${x.again} ${t('quarantined')}${x.notes.length ? ` (${x.notes.join('; ')})` : ''}`).join('; ')}`);
        again ||= r.reports.some((x) => x.again > 0);
      }
      // set aside again is no success: said in the colour of a problem
      setResult({ text: lines.join(' · '), again });
      setChosen(new Set());
      data.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const set = (k: keyof typeof filter) => (e: Event) => setFilter({ ...filter, [k]: (e.currentTarget as HTMLInputElement).value });
  const reveal = () => {
    setError(null);
    if (look.reveal && !look.reason.trim()) return setError(t('reasonRequired'));
    setShown({ reveal: look.reveal, reason: look.reason.trim() });
  };
  return (
    <section>
      <h2>{t('quarantine')}</h2>
      <div class="filters">
        <label>{t('department')}<input value={filter.department} onChange={set('department')} /></label>
        <label>{t('flow')}<input value={filter.flow} onChange={set('flow')} /></label>
        <label>{t('stage')}
          <select value={filter.stage} onChange={set('stage')}><option value="">—</option>{(['source', 'target', 'dead-letter'] as const).map((s) => <option value={s}>{stageLabel(s)}</option>)}</select>
        </label>
        <label class="check"><input type="checkbox" name="reveal" checked={look.reveal} onChange={(e) => setLook({ ...look, reveal: e.currentTarget.checked })} />{t('reveal')}</label>
        {look.reveal && <label>{t('revealReason')}<input name="reason" value={look.reason} onInput={(e) => setLook({ ...look, reason: e.currentTarget.value })} /></label>}
        <button type="button" id="show" onClick={reveal}>{t('search')}</button>
        {!shown.reveal && <Badge tone="info">{t('masked')}</Badge>}
      </div>
      <Problem text={data.error ?? error} />
      {data.loading && !data.value ? <Loading /> : (
        <Table id="quarantine" keys={items.map(idOf)} head={[...(operator ? [''] : []), t('department'), t('at'), t('stage'), t('flow'), t('key'), t('reason'), t('record')]}
          rows={items.map((i) => [
            ...(operator ? [<input type="checkbox" checked={chosen.has(idOf(i))} onChange={() => toggle(i)} aria-label={`${i.department} ${i.id}`} />] : []),
            i.department, dateTime(i.at), <Badge tone={i.stage === 'dead-letter' ? 'bad' : 'warn'}>{stageLabel(i.stage)}</Badge>, i.flow ?? '—', i.record_key ?? '—', i.reason,
            <code class="record">{brief(i.record)}</code>,
          ])} />
      )}
      {data.value?.unanswered.length ? <p class="error">{t('noAnswer')}{data.value.unanswered.map((d) => silentNote(d, data.value!.silent)).join(', ')}</p> : null}
      {operator && (
        <div class="row">
          <label>{t('reason')}<input id="replay-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></label>
          <button class="primary" id="replay" disabled={chosen.size === 0 || !reason.trim()} onClick={() => setAsking(true)}>{t('replay')} ({chosen.size})</button>
        </div>
      )}
      {asking && <Confirm text={t('replayConfirm')} onConfirm={() => replay()} onCancel={() => setAsking(false)} />}
      {result && <p class={result.again ? 'error' : 'ok'} role="status">{t('replayed')}: {result.text}</p>}
    </section>
  );
}
