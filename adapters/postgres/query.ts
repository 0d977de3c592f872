import { loadModule, parseSync } from 'libpg-query';
import { walk } from '../shared/select';

/** Nodes that write or lock, wherever they stand in a SELECT (a data-modifying CTE, SELECT INTO, FOR UPDATE). */
const WRITING = ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];

let loaded: Promise<void> | null = null;

/**
 * A source `query:` checked with PostgreSQL's own parser (libpg-query): exactly one SELECT statement
 * that neither writes nor locks. Null when it is one.
 */
export async function checkQuery(query: string): Promise<string | null> {
  await (loaded ??= loadModule());
  let tree: { stmts?: { stmt: Record<string, unknown> }[] };
  try {
    tree = parseSync(query) as typeof tree;
  } catch (err) {
    return `not a statement PostgreSQL can parse: ${(err as Error).message}`;
  }
  const statements = tree.stmts ?? [];
  if (statements.length !== 1) return `must be one statement, not ${statements.length}`;
  const [kind] = Object.keys(statements[0].stmt);
  if (kind !== 'SelectStmt') return `must be a SELECT statement, not ${kind.replace(/Stmt$/, '').toUpperCase()}`;
  let problem: string | null = null;
  walk(statements[0].stmt, (node) => {
    if (problem) return;
    const n = node as Record<string, unknown>;
    const writing = WRITING.find((w) => w in n);
    if (writing) problem = `must only read, but contains ${writing.replace(/Stmt$/, '').toUpperCase()}`;
    else if (n.intoClause) problem = 'must only read, but has SELECT … INTO';
    else if (n.lockingClause) problem = 'must not lock rows (FOR UPDATE / FOR SHARE)';
  });
  return problem;
}
