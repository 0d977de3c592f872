import { renderCsv } from '../../gateway/csv';
import { maskText } from '../../gateway/mask';
import { lang } from './i18n';

/** What the user typed, shown back as the centre shows data to one who did not ask to reveal it: the same mask as the centre's. */
export const masked = maskText;

/** A moment in the browser's own time zone, in the console's language. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' }).format(d);
}

/** The hour and minute of a moment (seconds since the epoch), in the console's language: a time axis's ticks. */
export function timeOfDay(epochSeconds: number): string {
  return new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' }).format(new Date(epochSeconds * 1000));
}

export const num = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-GB').format(n));

export const seconds = (s: number): string => `${s.toFixed(2)} s`;

/** Rows as CSV, as the command line writes them (formulas defused), for a download. */
export const csv = renderCsv;

export function download(name: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob(['\ufeff', text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

