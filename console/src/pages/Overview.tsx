import { useState } from 'preact/hooks';
import { call, type User } from '../api';
import { Badge, Chart, Loading, Problem, Table } from '../components';
import { dateTime, num, seconds } from '../format';
import { useEvery, useLoad } from '../hooks';
import { alarmLabel, t } from '../i18n';
import type { Alarm, LagSeries, Target } from '../types';

const HOURS = 6;

/** Every flow and target at a glance: counts as dxg status, lag, rate, backlog, whether they reconcile; lag over hours; open alarms, which an operator clears with a reason. */
/** A count and, on a line of its own, what replays added to it: the figures then add up as dxg status's do. */
function withReplayed(n: number | undefined, replayed: number | undefined) {
  return replayed ? <span>{num(n)}<br /><small class="muted">+{num(replayed)} {t('replayedNote')}</small></span> : num(n);
}

export function Overview({ user }: { user: User }) {
  const status = useLoad(() => call<{ generatedAt: string; targets: Target[] }>('/api/status'));
  const alarms = useLoad(() => call<Alarm[]>('/api/alarms?open=true'));
  const lag = useLoad(() => call<LagSeries[]>(`/api/lag?hours=${HOURS}`));
  useEvery(10_000, () => {
    status.reload();
    alarms.reload();
  });
  const rows = (status.value?.targets ?? []).map((x) => [
    <a href={`#/flows/${x.flow}`}>{x.flow}</a>, `${x.source} → ${x.target}`,
    withReplayed(x.counts?.extracted, x.counts?.replayedAtSource), withReplayed(x.counts?.published, x.counts?.replayedAtTarget), num(x.counts?.applied), num(x.counts?.rejected), num(x.counts?.quarantined), num(x.counts?.filtered), num(x.counts?.withheld),
    num(x.backlog.awaitingReceipt), num(x.backlog.outbox), num(x.backlog.queued),
    x.lag ? `${seconds(x.lag.p50)} / ${seconds(x.lag.p95)}` : '—', x.recordsPerSecond.toFixed(1),
    x.reconciled === null ? <Badge tone="warn">{t('unknown')}</Badge> : x.reconciled ? <Badge tone="ok">{t('yes')}</Badge> : <Badge tone="bad" >{`${t('no')}: ${x.counts?.problems.join('; ')}`}</Badge>,
  ]);
  return (
    <section>
      <h2>{t('overview')}</h2>
      <Problem text={status.error} />
      {status.loading && !status.value ? <Loading /> : (
        <Table id="targets" rows={rows} head={[t('flow'), `${t('source')} → ${t('target')}`, t('extracted'), t('published'), t('applied'), t('rejected'), t('quarantined'), t('filtered'), t('withheld'),
          t('awaiting'), t('outbox'), t('queued'), t('lag'), t('rate'), t('reconciled')]} />
      )}
      <p class="muted">{dateTime(status.value?.generatedAt)}</p>
      <h3>{t('lagChart')}</h3>
      <Problem text={lag.error} />
      <Chart from={Date.now() / 1000 - HOURS * 3600} to={Date.now() / 1000} series={(lag.value ?? []).map((s) => ({ name: `${s.flow} → ${s.target}`, points: s.points.map((p) => [Date.parse(p.at) / 1000, p.p95] as [number, number]) }))} />
      <h3>{t('alarms')}</h3>
      <Problem text={alarms.error} />
      {user.role === 'operator' ? <ClearAlarms alarms={alarms.value ?? []} cleared={alarms.reload} /> : (
        <Table id="alarms" rows={(alarms.value ?? []).map((a) => [dateTime(a.at), <Badge tone="bad">{alarmLabel(a.kind)}</Badge>, a.department ?? '—', a.flow ?? '—', a.reason])}
          head={[t('at'), t('kind'), t('department'), t('flow'), t('reason')]} />
      )}
    </section>
  );
}

/** The open alarms with a clear button each: the reason is required, and recorded in the centre's journal. */
function ClearAlarms({ alarms, cleared }: { alarms: Alarm[]; cleared: () => void }) {
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const clear = async (id: string) => {
    setProblem(null);
    try {
      await call(`/api/alarms/${id}/clear`, { method: 'POST', body: { reason } });
      setReason('');
      cleared();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <>
      <Table id="alarms" rows={alarms.map((a) => [dateTime(a.at), <Badge tone="bad">{alarmLabel(a.kind)}</Badge>, a.department ?? '—', a.flow ?? '—', a.reason,
        <button data-action={`clear-${a.id}`} disabled={!reason.trim()} onClick={() => void clear(a.id)}>{t('clearAlarm')}</button>])}
        head={[t('at'), t('kind'), t('department'), t('flow'), t('reason'), '']} />
      {alarms.length > 0 && <label>{t('clearReason')}<input id="clear-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></label>}
      <Problem text={problem} />
    </>
  );
}
