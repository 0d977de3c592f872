import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DxgError, errorMessage } from '../errors';

/** Where `dxg login` keeps its tokens, one per centre URL (mode 0600). */
export function tokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dxg', 'centre-tokens.json');
}

function readTokens(): Record<string, { token: string; name: string; expiresAt: string }> {
  const file = tokenFile();
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, { token: string; name: string; expiresAt: string }>;
  } catch {
    return {};
  }
}

export function saveToken(centreUrl: string, login: { token: string; name: string; expiresAt: string }): string {
  const file = tokenFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ ...readTokens(), [centreUrl]: login }, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** The token for this centre: DXG_CENTRE_TOKEN, else the one `dxg login` kept; a command that needs the centre without one fails with "not logged in". */
function tokenFor(centreUrl: string): string {
  if (process.env.DXG_CENTRE_TOKEN) return process.env.DXG_CENTRE_TOKEN;
  const kept = readTokens()[centreUrl];
  if (!kept || Date.parse(kept.expiresAt) < Date.now()) throw new DxgError('DXG_LOGIN', `not logged in to the centre at ${centreUrl}${kept ? ' (the login expired)' : ''}: run dxg login`);
  return kept.token;
}

/** A JSON call to the centre's API; its error answers become clear errors. */
export async function centreCall<T>(centreUrl: string, path: string, options: { method?: string; body?: unknown; token?: string | null; timeoutMs?: number } = {}): Promise<T> {
  const token = options.token === null ? null : options.token ?? tokenFor(centreUrl);
  let res: Response;
  try {
    res = await fetch(`${centreUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}) },
      body: options.body ? JSON.stringify(options.body) : undefined,
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (err) {
    throw new DxgError('DXG_CENTRE', `cannot reach the centre at ${centreUrl}: ${errorMessage((err as Error).cause ?? err)} (is dxg centre running? centre.url in the config)`);
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (res.status === 401) throw new DxgError('DXG_LOGIN', `${body.error ?? 'not logged in'}`);
  // a request the centre refuses for what it asked (an unknown department, a bad value) is a usage error, as on the command line
  if (res.status === 400) throw new DxgError('DXG_USAGE', `the centre answered 400: ${body.error ?? res.statusText}`);
  if (!res.ok) throw new DxgError('DXG_CENTRE', `the centre answered ${res.status}: ${body.error ?? res.statusText}`);
  return body;
}
