/**
 * Values arrive exactly or not at all. Every engine rounds or truncates some values silently as it
 * stores them — more fractional digits than a decimal's scale, fractional seconds beyond a time
 * type's precision — on plain INSERTs and bulk paths alike. A target checks each value against its
 * column's declared type first, and a value the column would change is a reject with this reason.
 */
export type ValueCheck = (value: unknown) => string | null;

const DECIMAL = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Digits before and after the point of a decimal value as written, exponent applied, insignificant zeros dropped. */
function decimalDigits(value: unknown): { whole: number; fraction: number } | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : typeof value === 'string' || typeof value === 'bigint' ? String(value).trim() : '';
  const m = DECIMAL.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return null;
  const exponent = Number(m[3] ?? 0);
  const digits = `${m[1]}${m[2] ?? ''}`;
  const point = m[1].length + exponent;
  const whole = digits.slice(0, Math.max(point, 0)).replace(/^0+/, '').length + Math.max(point - digits.length, 0);
  const fraction = Math.max((point < 0 ? '0'.repeat(-point) + digits : digits.slice(point)).replace(/0+$/, '').length, 0);
  return { whole, fraction };
}

/** decimal(precision, scale): no more fractional digits than the scale, no more whole digits than precision − scale. */
export function decimalCheck(precision: number, scale: number, type: string): ValueCheck {
  return (value) => {
    if (value === null || value === undefined || typeof value === 'boolean') return null;
    const d = decimalDigits(value);
    if (!d) return null; // not a number: the database refuses it, with its own reason
    if (d.fraction > scale) return `${String(value)} has ${d.fraction} decimal places; ${type} keeps ${scale}, so it would be rounded`;
    if (d.whole > precision - scale) return `${String(value)} has ${d.whole} digits before the point; ${type} holds ${precision - scale}`;
    return null;
  };
}

const SECONDS_FRACTION = /:\d{2}\.(\d+)/;

/** Times and timestamps: no more (significant) fractional second digits than the type keeps. */
export function fractionCheck(digits: number, type: string): ValueCheck {
  return (value) => {
    if (typeof value !== 'string') return null;
    const fraction = SECONDS_FRACTION.exec(value)?.[1]?.replace(/0+$/, '') ?? '';
    return fraction.length > digits ? `${value} has ${fraction.length} fractional second digits; ${type} keeps ${digits}, so it would be rounded` : null;
  };
}

/** Several checks of one column, the first failing one reported. */
export const allOf = (...checks: (ValueCheck | null)[]): ValueCheck | null => {
  const present = checks.filter((c): c is ValueCheck => c !== null);
  if (present.length === 0) return null;
  return (value) => {
    for (const check of present) {
      const problem = check(value);
      if (problem) return problem;
    }
    return null;
  };
};
