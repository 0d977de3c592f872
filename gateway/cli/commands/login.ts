import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { centreCall, saveToken } from '../../centre/client';
import { DxgError } from '../../errors';
import { project, write } from '../context';
import { readSecret } from '../secret-input';

/** The centre's URL from the config; commands that need the centre say so when there is none. */
export function centreUrl(cmd: Command): string {
  const p = project(cmd);
  if (!p.config.centre) throw new DxgError('DXG_CONFIG', `${p.config.doc.display} names no centre: add centre: (docs/centre.md)`);
  return p.config.centre.url;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description("log in to the exchange centre (the password is read from standard input, or typed); the token is kept in the user's config folder")
    .option('-u, --user <name>', 'user name (default: your login name)')
    .action(async (opts: { user?: string }, cmd: Command) => {
      const url = centreUrl(cmd);
      const name = opts.user ?? userInfo().username;
      const password = await readSecret(`password for ${name} at ${url}: `);
      const r = await centreCall<{ token: string; name: string; role: string; department: string | null; expiresAt: string }>(url, '/api/login', { method: 'POST', body: { name, password }, token: null });
      const file = saveToken(url, { token: r.token, name: r.name, expiresAt: r.expiresAt });
      write(`logged in to ${url} as ${r.name} (${r.role}${r.department ? ` of ${r.department}` : ''}) until ${r.expiresAt}; token kept in ${file}`);
    });
}
