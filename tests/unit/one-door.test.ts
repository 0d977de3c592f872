import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { ROOT } from '../helpers/exchange';

/**
 * One door to the databases: only adapters/ loads a database driver. The engine, the CLI, the
 * benchmark and the tests all go through the adapters' Database, so that each driver's quirks
 * (placeholders, value parsing, error codes) are handled in one place, and a test reads and writes
 * its databases the way the gateway does.
 */
const DRIVER = /^(?:pg|pg-copy-streams|mysql2|mssql)(?:\/.*)?$/;
/** a module named by `… from`, `import …`, `import(…)` or `require(…)` */
const SPECIFIER = /\b(?:from|import|require)\s*\(?\s*(['"`])([^'"`]+)\1/g;
/** the repository's own source; adapters/ is the door itself */
const FOLDERS = ['gateway', 'bench', 'tests', 'bin'];
const SKIPPED = new Set(['node_modules', 'dist']);
const SOURCE = /\.[cm]?[jt]s$/;

/** Source files under `dir`; in bin/, every file (its scripts have no extension). */
function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (SOURCE.test(entry.name) || basename(dir) === 'bin') yield path;
  }
}

/** `file:line: …` for every driver a file loads. */
function driversLoaded(file: string): string[] {
  const found: string[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    for (const [, , module] of line.matchAll(SPECIFIER)) {
      if (DRIVER.test(module)) found.push(`${relative(ROOT, file)}:${i + 1}: loads '${module}'; only adapters/ may load a database driver`);
    }
  });
  return found;
}

describe('database drivers', () => {
  it('are loaded by adapters/ alone', () => {
    const found = FOLDERS.flatMap((folder) => [...sources(join(ROOT, folder))].flatMap(driversLoaded));
    expect(found).toEqual([]);
  });
});
