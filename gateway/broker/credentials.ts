import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeConfig } from '../config/model';
import { DxgError } from '../errors';
import { refuseShared } from '../secrets';
import { withCredentials } from './urls';

/**
 * Each department's node connects to the broker as its own user, `<exchange>.<department>`, with a
 * password only that node holds: from `departments.<d>.broker_password`, or from the file
 * `<keys>/<d>.broker` (mode 0600) that `dxg init` writes when the config gives none.
 */
export function passwordFile(config: ExchangeConfig, department: string): string {
  return join(config.dirs.keys, `${department}.broker`);
}

/** The department's broker password; with `create`, one is generated into its file if it has none. */
export function brokerPassword(config: ExchangeConfig, department: string, create = false): string {
  const given = config.departments.get(department)?.brokerPassword;
  if (given) return given;
  const file = passwordFile(config, department);
  if (!existsSync(file)) {
    if (!create) throw new DxgError('DXG_KEYS', `no broker password for department '${department}': set departments.${department}.broker_password, or run dxg init, which creates ${file}`);
    mkdirSync(config.dirs.keys, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  refuseShared(file, 'broker password');
  return readFileSync(file, 'utf8').trim();
}

/** broker.url with the department's own user and password in every URL of the list, in place of whatever the config names. */
export function departmentUrl(config: ExchangeConfig, department: string, user: string): string {
  return withCredentials(config.broker.url, user, brokerPassword(config, department));
}
