import { stringify } from 'csv-stringify/sync';

/**
 * Rows as CSV (RFC 4180), for the command line's --format csv and the console's exports alike. A text
 * cell that a spreadsheet would run as a formula (= + - @, a tab or a carriage return first) is
 * written with a leading apostrophe: record keys and names come from other departments' data.
 */
export function renderCsv(head: string[], rows: (string | number | null)[][]): string {
  return stringify([head, ...rows], { escape_formulas: true });
}
