/**
 * Formats for Chinese government identifiers, usable in indicator sets as `"format": "..."`.
 * They check the check digits, so a mistyped code is caught at the source, not in another department.
 */

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** 统一社会信用代码, GB 32100-2015: 18 characters, the last a mod-31 check character. */
export function isUscc(code: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(code)) return false;
  return code[17] === usccCheckChar(code.slice(0, 17));
}

export function usccCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARS.indexOf(first17[i]) * USCC_WEIGHTS[i];
  return USCC_CHARS[(31 - (sum % 31)) % 31];
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** 公民身份号码, GB 11643-1999: 6-digit region, 8-digit birth date, 3-digit sequence, ISO 7064 check character. */
export function isIdNumber(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  if (!isDate(`${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`)) return false;
  return id[17] === idCheckChar(id.slice(0, 17));
}

export function idCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i];
  return ID_CHECK[sum % 11];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isDate(s: string): boolean {
  return DATE.test(s) && validDay(s);
}

/** `YYYY-MM-DD` at the start of a string already matched as such: a real day of the calendar. */
function validDay(s: string): boolean {
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(digits(s, 0, 4), month);
}

/** The number written by `n` digits of `s` from `from` (already matched as digits): called for every date of every record, it allocates nothing. */
export function digits(s: string, from: number, n: number): number {
  let value = 0;
  for (let i = from; i < from + n; i++) value = value * 10 + s.charCodeAt(i) - 48;
  return value;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** An exact decimal written as a string, so money and measures never pass through a float. */
export const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * RFC 3339 date-time whose offset may be left out: a column without a time zone travels as stored,
 * with up to microsecond precision.
 */
export const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$/;

export const customFormats: Record<string, (value: string) => boolean> = {
  uscc: isUscc,
  'cn-id-number': isIdNumber,
  decimal: (v) => DECIMAL.test(v),
  date: isDate,
  'date-time': (v) => DATE_TIME.test(v) && validDay(v),
};
