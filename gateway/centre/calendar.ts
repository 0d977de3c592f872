import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DxgError, errorMessage } from '../errors';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar date that exists (2026-02-30 and 2026-13-01 do not). */
function isDate(text: string): boolean {
  const at = Date.parse(`${text}T12:00:00Z`);
  return DATE.test(text) && !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === text;
}

/**
 * The official calendar applications are answered by: Monday to Friday, less the public holidays that
 * fall on them, plus the weekend days declared working days (调休). Dates are calendar dates in the
 * centre's time zone; a deadline is the end of its day.
 */
export class WorkingCalendar {
  constructor(private readonly holidays: ReadonlySet<string> = new Set(), private readonly workdays: ReadonlySet<string> = new Set()) {}

  /** From `centre.approval.calendar`: `holidays: [YYYY-MM-DD, …]`, `workdays: [YYYY-MM-DD, …]`. */
  static read(file: string | null): WorkingCalendar {
    if (!file) return new WorkingCalendar();
    let raw: { holidays?: unknown; workdays?: unknown };
    try {
      raw = (parse(readFileSync(file, 'utf8')) ?? {}) as typeof raw;
    } catch (err) {
      throw new DxgError('DXG_CONFIG', `centre.approval.calendar ${file}: ${errorMessage(err)}`);
    }
    const unknown = Object.keys(raw).filter((k) => k !== 'holidays' && k !== 'workdays');
    if (unknown.length) throw new DxgError('DXG_CONFIG', `${file}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: a calendar has holidays: and workdays:`);
    const dates = (name: 'holidays' | 'workdays'): Set<string> => {
      const list = raw[name] ?? [];
      if (!Array.isArray(list)) throw new DxgError('DXG_CONFIG', `${file}: ${name} must be a list of dates (YYYY-MM-DD)`);
      // YAML reads an unquoted 2026-10-01 as a Date
      const out = list.map((d) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d)));
      const bad = out.find((d) => !isDate(d));
      if (bad) throw new DxgError('DXG_CONFIG', `${file}: ${name}: '${bad}' is not a date (YYYY-MM-DD)`);
      return new Set(out);
    };
    return new WorkingCalendar(dates('holidays'), dates('workdays'));
  }

  isWorkingDay(date: string): boolean {
    if (this.workdays.has(date)) return true;
    if (this.holidays.has(date)) return false;
    const day = new Date(`${date}T12:00:00Z`).getUTCDay();
    return day !== 0 && day !== 6;
  }

  /** The date `n` working days after `from` (the day of submission does not count). */
  addWorkingDays(from: Date, n: number): string {
    let date = localDate(from);
    for (let left = n; left > 0;) {
      date = nextDate(date);
      if (this.isWorkingDay(date)) left--;
    }
    return date;
  }

  /** Working days from `from` up to and including `to` (negative when `to` is past). */
  workingDaysBetween(from: Date, to: string): number {
    const start = localDate(from);
    if (to < start) return -this.countBetween(to, start);
    return this.countBetween(start, to);
  }

  private countBetween(a: string, b: string): number {
    let n = 0;
    for (let d = nextDate(a); d <= b; d = nextDate(d)) if (this.isWorkingDay(d)) n++;
    return n;
  }
}

/** The calendar date of a moment in this process's time zone. */
export function localDate(at: Date): string {
  const y = at.getFullYear();
  const m = String(at.getMonth() + 1).padStart(2, '0');
  const d = String(at.getDate()).padStart(2, '0');
  return `${y}-${m}-${d}`;
}

function nextDate(date: string): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
