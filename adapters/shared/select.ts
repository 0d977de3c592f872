/**
 * Checks a source `query:` with a real parser of its dialect before it is ever wrapped as a derived
 * table for keyset paging: it must be exactly one SELECT statement that neither writes (a
 * data-modifying CTE, SELECT … INTO) nor locks (FOR UPDATE). What a parser cannot see — a function
 * that writes — the read-only transaction every source read runs in refuses.
 *
 * node-sql-parser (MySQL/MariaDB, SQL Server) gives a tree of plain objects; `walk` visits them all.
 */
const WRITING = new Set(['insert', 'replace', 'update', 'delete', 'merge', 'create', 'drop', 'alter', 'truncate', 'rename', 'grant', 'revoke', 'call', 'exec', 'execute', 'set', 'lock', 'unlock', 'use', 'load_data', 'transaction']);

interface AstParser {
  astify(query: string): unknown;
}

export function checkWithParser(parser: AstParser, query: string, dialect: string): string | null {
  let ast: unknown;
  try {
    ast = parser.astify(query);
  } catch (err) {
    return `not a SELECT statement ${dialect} can parse: ${firstLine((err as Error).message)}`;
  }
  const statements = Array.isArray(ast) ? ast : [ast];
  if (statements.length !== 1) return `must be one statement, not ${statements.length}`;
  const [statement] = statements as { type?: string }[];
  if (statement.type !== 'select') return `must be a SELECT statement, not ${String(statement.type).toUpperCase()}`;
  let problem: string | null = null;
  walk(statement, (node) => {
    if (problem) return;
    const n = node as { type?: unknown; into?: { position?: unknown }; locking_read?: unknown };
    if (typeof n.type === 'string' && WRITING.has(n.type)) problem = `must only read, but contains ${n.type.toUpperCase()}`;
    else if (n.into && n.into.position) problem = 'must only read, but has SELECT … INTO';
    else if (n.locking_read) problem = `must not lock rows (${String(n.locking_read)})`;
  });
  return problem;
}

/** Visits every object in a parse tree. */
export function walk(node: unknown, visit: (node: object) => void): void {
  if (!node || typeof node !== 'object') return;
  visit(node);
  for (const child of Object.values(node)) walk(child, visit);
}

const firstLine = (text: string): string => text.split('\n')[0].slice(0, 200);
