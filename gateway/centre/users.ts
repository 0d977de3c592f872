import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { DxgError } from '../errors';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;

/** DESIGN §8: auditors read, operators also act on nodes, an approver answers for one department. */
export const ROLES = ['auditor', 'operator', 'approver'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  name: string;
  role: Role;
  department: string | null;
}

const COST = { N: 16384, r: 8, p: 1 };
/** How long a login holds. */
const TOKEN_MS = 12 * 3600_000;

/** scrypt with a salt of its own, stored with its parameters: `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(got, expected);
}

const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Creates a user or gives an existing one a new role and password. */
/** Creates the user, or gives an existing one this role and password (its logins end); whether it existed. */
export async function putUser(db: Database, user: User, password: string): Promise<boolean> {
  if (!ROLES.includes(user.role)) throw new DxgError('DXG_USAGE', `role must be one of: ${ROLES.join(', ')}`);
  if (user.role === 'approver' && !user.department) throw new DxgError('DXG_USAGE', 'an approver answers for one department: give --department');
  if (password.length < 8) throw new DxgError('DXG_USAGE', 'a password has at least 8 characters');
  const existed = (await db.query(sql`SELECT 1 FROM centre_users WHERE name = ${user.name}`)).length > 0;
  await db.execute(sql`INSERT INTO centre_users (name, role, department, password) VALUES (${user.name}, ${user.role}, ${user.department}, ${await hashPassword(password)})
    ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, department = EXCLUDED.department, password = EXCLUDED.password`);
  await db.execute(sql`DELETE FROM centre_tokens WHERE name = ${user.name}`);
  return existed;
}

/** Removes the user and ends its logins; whether there was one. */
export async function removeUser(db: Database, name: string): Promise<boolean> {
  await db.execute(sql`DELETE FROM centre_tokens WHERE name = ${name}`);
  return (await db.execute(sql`DELETE FROM centre_users WHERE name = ${name}`)) > 0;
}

/**
 * A token for the user, or why not: the name or the password is wrong (the client is told neither;
 * the journal names only a user that exists, as a mistyped password in the name field is no user).
 */
export async function login(db: Database, name: string, password: string): Promise<{ token: string; user: User; expiresAt: string } | { refused: 'name' | 'password' }> {
  const [row] = await db.query<{ name: string; role: Role; department: string | null; password: string }>(sql`SELECT name, role, department, password FROM centre_users WHERE name = ${name}`);
  const ok = row ? await passwordMatches(password, row.password) : await hashPassword(password).then(() => false);
  if (!row) return { refused: 'name' };
  if (!ok) return { refused: 'password' };
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + TOKEN_MS).toISOString();
  await db.execute(sql`DELETE FROM centre_tokens WHERE expires_at < now()`);
  await db.execute(sql`INSERT INTO centre_tokens (token_hash, name, expires_at) VALUES (${tokenHash(token)}, ${name}, ${expiresAt})`);
  return { token, user: { name: row.name, role: row.role, department: row.department }, expiresAt };
}

export async function authenticate(db: Database, token: string): Promise<User | null> {
  const [row] = await db.query<{ name: string; role: Role; department: string | null }>(sql`SELECT u.name, u.role, u.department FROM centre_tokens t
    JOIN centre_users u ON u.name = t.name WHERE t.token_hash = ${tokenHash(token)} AND t.expires_at > now()`);
  return row ? { name: row.name, role: row.role, department: row.department } : null;
}

/** The token is refused from now on. */
export async function logout(db: Database, token: string): Promise<void> {
  await db.execute(sql`DELETE FROM centre_tokens WHERE token_hash = ${tokenHash(token)}`);
}

export async function listUsers(db: Database): Promise<User[]> {
  return db.query<User & Record<string, unknown>>(sql`SELECT name, role, department FROM centre_users ORDER BY name`);
}
