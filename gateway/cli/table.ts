import Table from 'cli-table3';

/** A table for the terminal: borders drawn with CJK-aware widths (names like 税务局 stay aligned). */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => String(c)));
  return t.toString();
}
