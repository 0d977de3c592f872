import { errorText, t as text } from './i18n';

/** The centre's public API, as the console calls it: a token from the login, JSON both ways. */

const unreachable = () => text('unreachable');

const TOKEN = 'dxg-token';

export interface User {
  name: string;
  role: 'auditor' | 'operator' | 'approver';
  department: string | null;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Called when the token is refused: the console returns to its login page. */
let onLoggedOut: () => void = () => undefined;
export const whenLoggedOut = (fn: () => void): void => {
  onLoggedOut = fn;
};

export const token = (): string | null => sessionStorage.getItem(TOKEN);

export async function login(name: string, password: string): Promise<User> {
  const r = await call<{ token: string } & User>('/api/login', { method: 'POST', body: { name, password } });
  sessionStorage.setItem(TOKEN, r.token);
  return { name: r.name, role: r.role, department: r.department };
}

/** Ends the login at the centre too: the token is refused from then on. */
export async function logout(): Promise<void> {
  await call('/api/logout', { method: 'POST', body: {} }).catch(() => undefined);
  sessionStorage.removeItem(TOKEN);
  onLoggedOut();
}

export async function call<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const t = token();
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}) },
      body: options.body ? JSON.stringify(options.body) : undefined,
    });
  } catch {
    throw new ApiError(0, unreachable());
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: string; code?: string };
  if (res.status === 401 && path !== '/api/login') {
    sessionStorage.removeItem(TOKEN);
    onLoggedOut();
  }
  if (!res.ok) throw new ApiError(res.status, errorText(body.code, body.error ?? res.statusText));
  return body;
}

/** A query string of the values given (empty ones left out). */
export function query(values: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [k, String(v)]));
  return q.size ? `?${q}` : '';
}
