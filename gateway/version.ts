import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This dxg's version, from its package.json (two folders up from both gateway/ and dist/gateway/). */
export const VERSION: string = (() => {
  for (const up of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dxg' && pkg.version) return pkg.version;
    } catch {
      // not here: one folder further up
    }
  }
  return 'unknown';
})();
