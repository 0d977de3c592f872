import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeConfig } from '../config/model';
import { CENTRE } from '../config/duration';
import type { Keyring } from '../envelope/keys';

export interface SignedKeyList {
  exchange: string;
  issuedAt: string;
  keys: { department: string; algorithm: 'ed25519'; publicKey: string }[];
  /** the centre's own public key, which signs the list */
  centreKey: string;
  /** Ed25519 signature of the centre over the JSON of every field above, in this order */
  signature: string;
}

/**
 * The key list the centre publishes: every department's public key, signed by the centre, so a
 * node can take its peers' keys from one signed document instead of a folder copied by hand.
 */
export class KeyList {
  constructor(private readonly config: ExchangeConfig, private readonly keyring: Keyring) {}

  signed(): SignedKeyList {
    const keys = [...this.config.departments.keys()]
      .filter((d) => existsSync(join(this.config.dirs.keys, `${d}.pub`)))
      .map((d) => ({ department: d, algorithm: 'ed25519' as const, publicKey: readFileSync(join(this.config.dirs.keys, `${d}.pub`), 'utf8') }));
    const body = { exchange: this.config.exchange, issuedAt: new Date().toISOString(), keys, centreKey: readFileSync(join(this.config.dirs.keys, `${CENTRE}.pub`), 'utf8') };
    return { ...body, signature: this.keyring.sign(CENTRE, JSON.stringify(body)) };
  }
}
