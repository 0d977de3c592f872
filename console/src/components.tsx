import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { dateTime, seconds, timeOfDay } from './format';
import { t } from './i18n';

const PAGE = 20;

/** A table of rows, a page of twenty at a time. */
/** `keys`: one per row, so that a row's own state (a ticked box) stays with it when the rows change. */
export function Table({ head, rows, id, empty, keys }: { head: ComponentChildren[]; rows: ComponentChildren[][]; id?: string; empty?: string; keys?: string[] }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  useEffect(() => setPage((p) => Math.min(p, pages - 1)), [pages]);
  const shown = rows.slice(page * PAGE, page * PAGE + PAGE);
  const keyOf = (i: number) => keys?.[page * PAGE + i] ?? page * PAGE + i;
  return (
    <div class="table" id={id}>
      <table>
        <thead><tr>{head.map((h) => <th>{h}</th>)}</tr></thead>
        <tbody>
          {shown.length === 0 ? <tr><td colSpan={head.length} class="muted">{empty ?? t('none')}</td></tr> : shown.map((r, i) => <tr key={keyOf(i)}>{r.map((c) => <td>{c}</td>)}</tr>)}
        </tbody>
      </table>
      {pages > 1 && (
        <div class="pager">
          <button disabled={page === 0} onClick={() => setPage(page - 1)}>{t('prev')}</button>
          <span>{page + 1} / {pages}</span>
          <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>{t('next')}</button>
        </div>
      )}
    </div>
  );
}

export const Badge = ({ tone, children }: { tone: 'ok' | 'bad' | 'warn' | 'info'; children: ComponentChildren }) => <span class={`badge ${tone}`}>{children}</span>;

export const Problem = ({ text }: { text: string | null }) => (text ? <p class="error" role="alert">{t('error')}: {text}</p> : null);

export const Loading = () => <p class="muted">{t('loading')}</p>;

/** A confirmation asked in the page (a <dialog>, not the browser's own box); with `reason`, a reason is asked for (and must be given unless 'optional'). */
export function Confirm({ text, reason, onConfirm, onCancel, children }: { text: string; reason?: boolean | 'optional'; onConfirm: (reason: string) => void; onCancel: () => void; children?: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [given, setGiven] = useState('');
  useEffect(() => ref.current?.showModal(), []);
  return (
    <dialog ref={ref} class="confirm" onClose={onCancel}>
      <p>{text}</p>
      {children}
      {reason && <label>{t('reason')}<input id="dialog-reason" value={given} onInput={(e) => setGiven(e.currentTarget.value)} /></label>}
      <div class="row">
        <button class="primary" id="confirm" disabled={reason === true && !given.trim()} onClick={() => onConfirm(given.trim())}>{t('confirm')}</button>
        <button onClick={onCancel}>{t('cancel')}</button>
      </div>
    </dialog>
  );
}

/** Lines over time: one series per name, timestamps in seconds, in the browser's time zone (uPlot's default). */
export function Chart({ series, from, to, height = 220 }: { series: { name: string; points: [number, number][] }[]; from: number; to: number; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || series.length === 0) return;
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [times, ...series.map((s) => {
      const at = new Map(s.points);
      return times.map((x) => at.get(x) ?? null);
    })];
    const colours = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];
    const plot = new uPlot({
      width: box.current.clientWidth || 800, height,
      // the whole window, however few buckets hold data
      scales: { x: { time: true, range: () => [from, to] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      // the legend and the ticks in the console's language and its date format, not uPlot's American English
      series: [{ label: t('at'), value: (_u, v) => (v === null ? '—' : dateTime(new Date(v * 1000).toISOString())) },
        ...series.map((s, i) => ({ label: s.name, stroke: colours[i % colours.length], width: 2, spanGaps: true, points: { show: true, size: 5 }, value: (_u: uPlot, v: number | null) => (v === null ? '—' : seconds(v)) }))],
      // the unit is in the chart's heading: a rotated label of one CJK character reads badly
      axes: [{ space: 90, values: (_u, ticks) => ticks.map(timeOfDay) }, {}],
    }, data, box.current);
    return () => plot.destroy();
  }, [series, from, to]);
  return series.length ? <div ref={box} class="chart" /> : <p class="muted">{t('none')}</p>;
}
