import { statSync } from 'node:fs';
import { DxgError } from './errors';

/** A secret file that its group or others can read is refused: it is no longer the department's own. */
export function refuseShared(file: string, what: string): void {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new DxgError('DXG_KEYS', `${what} ${file} can be read by others (mode ${mode.toString(8).padStart(4, '0')}): only its department's node may read it (chmod 600 ${file})`);
  }
}
