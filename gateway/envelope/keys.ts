import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DxgError } from '../errors';
import { refuseShared } from '../secrets';
import { CENTRE } from '../config/duration';
import { keyId, listSignedBy, usableKeys, type SignedKeyList } from './key-list';

/**
 * The keyring of an exchange: its keys folder, and with a centre, the centre's key list the last run
 * kept there (until the centre sends a newer one).
 */
export function exchangeKeyring(config: { dirs: { keys: string }; centre: unknown }): Keyring {
  const keyring = new Keyring(config.dirs.keys);
  if (config.centre) keyring.loadKeptList();
  return keyring;
}

/** Where a node keeps the last key list the centre sent it, in its keys folder. */
const KEY_LIST = 'keylist.json';

/**
 * One Ed25519 key pair per department: `<dept>.key` (private, PKCS#8 PEM, mode 0600) and
 * `<dept>.pub` (public, SPKI PEM). A node needs only its own private key (and refuses one that
 * others can read) and the public keys of the departments it exchanges with; on a department's own
 * machine the keys folder holds its own `.key` and everyone's `.pub`.
 */
export class Keyring {
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();
  private list: SignedKeyList | null = null;
  /** a rotated key waiting in `<dept>.next.key` to be named valid by the key list */
  private readonly nextKeys = new Map<string, { id: string; key: KeyObject | null } | null>();

  constructor(readonly dir: string) {}

  sign(department: string, data: Buffer | string): string {
    return sign(null, Buffer.from(data), this.privateKey(department)).toString('base64');
  }

  /**
   * With a key list from the centre that names the department: any of its keys usable `when` (see
   * usableKeys); otherwise the department's public key file.
   */
  verify(department: string, data: Buffer | string, signature: string, when: 'now' | 'any' = 'now'): boolean {
    return this.verifyingKeys(department, when).some((key) => {
      try {
        return verify(null, Buffer.from(data), key, Buffer.from(signature, 'base64'));
      } catch {
        return false;
      }
    });
  }

  /** The keys verify tries; throws when the department has none here. */
  verifyingKeys(department: string, when: 'now' | 'any' = 'now'): KeyObject[] {
    return this.list?.keys.some((k) => k.department === department) ? usableKeys(this.list, department, when) : [this.publicKey(department)];
  }

  /** The rotated key, once the key list in force names it valid now. */
  private nextKey(department: string): KeyObject | null {
    if (!this.list) return null;
    let next = this.nextKeys.get(department);
    if (next === undefined) {
      // read once per key list: signing is on the hot path
      const pub = this.file(department, 'next.pub');
      next = existsSync(pub) ? { id: keyId(readFileSync(pub, 'utf8')), key: null } : null;
      this.nextKeys.set(department, next);
    }
    if (!next) return null;
    const { id } = next;
    const now = new Date().toISOString();
    if (!this.list.keys.some((k) => k.department === department && k.id === id && !k.revokedAt && k.validFrom <= now && (k.validUntil === null || k.validUntil > now))) return null;
    if (!next.key) {
      refuseShared(this.file(department, 'next.key'), 'private key');
      next.key = createPrivateKey(readFileSync(this.file(department, 'next.key'), 'utf8'));
    }
    return next.key;
  }

  /** The key list in force (the centre's, last received), if any. */
  get keyList(): SignedKeyList | null {
    return this.list;
  }

  /**
   * Takes a key list from the centre if the centre signed it (checked with `<keys>/centre.pub`) and it
   * is newer than the one held; keeps it in `<keys>/keylist.json` for the next start. Returns whether
   * it was taken.
   */
  adopt(list: SignedKeyList, keep = true): boolean {
    if (this.list && list.version <= this.list.version) return false;
    if (!listSignedBy(list, this.publicKey(CENTRE))) throw new DxgError('DXG_KEYS', `a key list (version ${list.version}) not signed by the centre's key (${this.file(CENTRE, 'pub')})`);
    this.list = list;
    // a rotation made since is looked for again with the list that may name it
    this.nextKeys.clear();
    if (keep) writeFileSync(join(this.dir, KEY_LIST), JSON.stringify(list, null, 2));
    return true;
  }

  /** The list kept by an earlier run, if there is one and the centre signed it. */
  loadKeptList(): void {
    const file = join(this.dir, KEY_LIST);
    if (!existsSync(file) || !existsSync(this.file(CENTRE, 'pub'))) return;
    try {
      this.adopt(JSON.parse(readFileSync(file, 'utf8')) as SignedKeyList, false);
    } catch {
      // unreadable or unsigned: the key files stand until the centre sends a list
    }
  }

  /**
   * The department's private key; refused when others than its owner can read the file. After a
   * rotation (`dxg keys rotate`) the next key signs from the moment the centre's list names it valid.
   */
  privateKey(department: string): KeyObject {
    const next = this.nextKey(department);
    if (next) return next;
    let key = this.privateKeys.get(department);
    if (!key) {
      const text = this.read(department, 'key');
      refuseShared(this.file(department, 'key'), 'private key');
      key = createPrivateKey(text);
      this.privateKeys.set(department, key);
    }
    return key;
  }

  publicKey(department: string): KeyObject {
    let key = this.publicKeys.get(department);
    if (!key) {
      key = createPublicKey(this.read(department, 'pub'));
      this.publicKeys.set(department, key);
    }
    return key;
  }

  has(department: string): boolean {
    return existsSync(this.file(department, 'key')) && existsSync(this.file(department, 'pub'));
  }

  /** Creates the key pairs that are missing; returns the departments that got one. */
  generate(departments: Iterable<string>): string[] {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const created: string[] = [];
    for (const d of departments) {
      if (this.has(d)) continue;
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(this.file(d, 'key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      chmodSync(this.file(d, 'key'), 0o600);
      writeFileSync(this.file(d, 'pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      created.push(d);
    }
    return created;
  }

  file(department: string, ext: 'key' | 'pub' | 'next.key' | 'next.pub'): string {
    return join(this.dir, `${department}.${ext}`);
  }

  private read(department: string, ext: 'key' | 'pub'): string {
    const file = this.file(department, ext);
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new DxgError('DXG_KEYS', `no ${ext === 'key' ? 'private' : 'public'} key for department '${department}' at ${file} (run: dxg keys generate)`);
    }
  }
}
