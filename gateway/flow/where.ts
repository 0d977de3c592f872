import type { WhereCondition } from '../config/model';

/**
 * `where` of a target, evaluated on a record in the indicator vocabulary at the source. Equality
 * compares as text (YAML `"1"` matches the integer 1); ordering compares numbers as numbers and
 * everything else as text (ISO dates and timestamps order correctly as text).
 */
export function matches(where: Record<string, WhereCondition>, record: Record<string, unknown>): boolean {
  for (const [indicator, condition] of Object.entries(where)) {
    if (!holds(condition, record[indicator])) return false;
  }
  return true;
}

function holds(condition: WhereCondition, value: unknown): boolean {
  if (condition === null) return value === null || value === undefined;
  if (typeof condition !== 'object') return same(value, condition);
  const [[op, arg]] = Object.entries(condition);
  const present = value !== null && value !== undefined;
  switch (op) {
    case 'in':
      return present && (arg as unknown[]).some((a) => same(value, a));
    case 'not_in':
      return present && !(arg as unknown[]).some((a) => same(value, a));
    case 'ne':
      return present && !same(value, arg);
    case 'gt':
      return present && compare(value, arg) > 0;
    case 'gte':
      return present && compare(value, arg) >= 0;
    case 'lt':
      return present && compare(value, arg) < 0;
    case 'lte':
      return present && compare(value, arg) <= 0;
    case 'is_null':
      return (arg === true) === !present;
    default:
      throw new Error(`unknown where operator '${op}'`);
  }
}

const same = (a: unknown, b: unknown): boolean => a !== null && a !== undefined && String(a) === String(b);

function compare(a: unknown, b: unknown): number {
  const x = Number(a);
  const y = Number(b);
  if (typeof a !== 'boolean' && typeof b !== 'boolean' && String(a).trim() !== '' && String(b).trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) {
    return x - y;
  }
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}
