import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DxgError } from '../errors';
import { refuseShared } from '../secrets';

/**
 * One Ed25519 key pair per department: `<dept>.key` (private, PKCS#8 PEM, mode 0600) and
 * `<dept>.pub` (public, SPKI PEM). A node needs only its own private key (and refuses one that
 * others can read) and the public keys of the departments it exchanges with; on a department's own
 * machine the keys folder holds its own `.key` and everyone's `.pub`.
 */
export class Keyring {
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(readonly dir: string) {}

  sign(department: string, data: Buffer | string): string {
    return sign(null, Buffer.from(data), this.privateKey(department)).toString('base64');
  }

  verify(department: string, data: Buffer | string, signature: string): boolean {
    try {
      return verify(null, Buffer.from(data), this.publicKey(department), Buffer.from(signature, 'base64'));
    } catch (err) {
      if (err instanceof DxgError) throw err;
      return false;
    }
  }

  /** The department's private key; refused when others than its owner can read the file. */
  privateKey(department: string): KeyObject {
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

  private file(department: string, ext: 'key' | 'pub'): string {
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
