import { QS_FIELDS, SOURCE_FIELDS, STATUS_CODES, TAX_FIELDS, TAX_TYPES, type TextRow } from './registry';

/**
 * What each target must hold, worked out from the source rows alone (not with the gateway's code):
 * the valid records, projected to the target's columns, through its code table, minus what its
 * `where` excludes. Deleted rows (soft deleted, or gone from the source) are absent from a target
 * that deletes and flagged in one that flags.
 */
export interface DeleteModes {
  qs: 'delete' | 'flag';
  tax: 'delete' | 'flag';
}

const valid = (row: TextRow) => row.status_code !== null && row.status_code in STATUS_CODES;

function project(row: TextRow, fields: Record<string, string>, codes: Record<string, Record<string, string>> = {}): TextRow {
  const out: TextRow = {};
  for (const [indicator, column] of Object.entries(fields)) {
    const value = row[SOURCE_FIELDS[indicator]];
    out[column] = value !== null && codes[indicator] ? codes[indicator][value] : value;
  }
  return out;
}

export function expectedQs(source: Map<string, TextRow>, deletes?: DeleteModes): Map<string, TextRow> {
  const out = new Map<string, TextRow>();
  for (const [key, row] of source) {
    if (!valid(row)) continue;
    const deleted = row.is_deleted === '1';
    if (deleted && deletes?.qs !== 'flag') continue;
    const projected = project(row, QS_FIELDS);
    if (deletes?.qs === 'flag') projected.deleted = deleted ? '1' : '0';
    out.set(key, projected);
  }
  return out;
}

export function expectedTax(source: Map<string, TextRow>, deletes?: DeleteModes): Map<string, TextRow> {
  const out = new Map<string, TextRow>();
  for (const [key, row] of source) {
    if (!valid(row) || !TAX_TYPES.includes(row.ent_type ?? '')) continue;
    const deleted = row.is_deleted === '1';
    if (deleted && deletes?.tax !== 'flag') continue;
    const projected = project(row, TAX_FIELDS, { status: STATUS_CODES });
    if (deletes?.tax === 'flag') projected.deleted = deleted ? '1' : '0';
    out.set(key, projected);
  }
  return out;
}

export interface Comparison {
  expected: number;
  actual: number;
  /** records the target should hold and does not */
  lost: number;
  /** records the target holds in an older version than the source's latest */
  regressed: number;
  /** records in the source's latest version whose values differ */
  differing: number;
  /** rows the target holds that it should not (deleted at the source, filtered out, …) */
  extra: number;
  examples: string[];
}

/** Compares row for row, every column as text; `version` names the column holding the source's updated_at. */
export function compare(expected: Map<string, TextRow>, actual: Map<string, TextRow>, version: string): Comparison {
  const c: Comparison = { expected: expected.size, actual: actual.size, lost: 0, regressed: 0, differing: 0, extra: 0, examples: [] };
  const note = (s: string) => c.examples.length < 5 && c.examples.push(s);
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (!got) {
      c.lost++;
      note(`lost ${key} (version ${want[version]})`);
      continue;
    }
    if ((got[version] ?? '') < (want[version] ?? '')) {
      c.regressed++;
      note(`regressed ${key}: holds ${got[version]}, source has ${want[version]}`);
      continue;
    }
    const diff = Object.keys(want).filter((col) => want[col] !== got[col]);
    if (diff.length) {
      c.differing++;
      note(`differs ${key}: ${diff.map((col) => `${col} ${JSON.stringify(got[col])} ≠ ${JSON.stringify(want[col])}`).join(', ')}`);
    }
  }
  for (const key of actual.keys()) {
    if (!expected.has(key)) {
      c.extra++;
      note(`extra ${key}`);
    }
  }
  return c;
}

/**
 * Rows hard-deleted at the source, at a target that flags deletions: each one the target ever
 * received must still be there, flagged, in the version it last received (at most the one deleted);
 * those it never received must not be. Moves the ones checked out of `actual` and counts them, and
 * what is wrong with them, into `c`.
 */
export function settleGone(
  c: Comparison,
  actual: Map<string, TextRow>,
  gone: Map<string, TextRow>,
  sent: Set<string>,
  expectFor: (rows: Map<string, TextRow>) => Map<string, TextRow>,
  version: string,
): void {
  const note = (s: string) => c.examples.length < 5 && c.examples.push(s);
  for (const [key, last] of gone) {
    if (!sent.has(key)) continue; // never sent there: the plain comparison finds it if it is there anyway
    const want = expectFor(new Map([[key, { ...last, is_deleted: '1' }]])).get(key);
    const got = actual.get(key);
    if (!want) continue;
    c.expected++;
    if (!got) {
      c.lost++;
      note(`lost ${key} (hard-deleted, should be kept flagged)`);
      continue;
    }
    actual.delete(key);
    c.actual++;
    if (got.deleted !== '1') {
      c.differing++;
      note(`${key} was hard-deleted at the source but is not flagged deleted`);
    } else if ((got[version] ?? '') > (want[version] ?? '')) {
      c.differing++;
      note(`${key} holds version ${got[version]}, newer than the source's last ${want[version]}`);
    } else if (got[version] === want[version]) {
      const diff = Object.keys(want).filter((col) => want[col] !== got[col]);
      if (diff.length) {
        c.differing++;
        note(`differs ${key} (flagged): ${diff.map((col) => `${col} ${JSON.stringify(got[col])} ≠ ${JSON.stringify(want[col])}`).join(', ')}`);
      }
    }
  }
}
