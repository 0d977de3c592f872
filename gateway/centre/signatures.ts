import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { Received } from './ledger-copy';

/**
 * The worker's whole program. Inline rather than a file of its own: the centre runs from the build and
 * from the TypeScript sources under test, and only a program given as text is found the same in both.
 */
const PROGRAM = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
const check = (keys, data, signature) => keys.some((key) => {
  try { return verify(null, Buffer.from(data), key, Buffer.from(signature, 'base64')); } catch { return false; }
});
parentPort.on('message', ({ id, keys, items }) => {
  parentPort.postMessage({ id, ok: items.map(([data, signature]) => check(keys, data, signature)) });
});`;

/** How a verified entry is named: its department, hash and signature (what the signature check took). */
export const verifiedName = (department: string, e: { hash: string; signature: string }): string => `${department}\n${e.hash}\n${e.signature}`;

/**
 * Checks the signatures of collected entries on a thread of its own, as they arrive: an Ed25519
 * verification costs some 160 µs here, most of the centre's work per entry, and done in the copy's
 * transaction it kept the collector busy while its database waited. What this finds verified the copy
 * need not verify again; anything else (and everything, should the thread fail) the copy checks
 * itself, so a forged signature is a ledger break either way.
 */
export class SignatureChecks {
  private worker: Worker | null = null;
  private failed = false;
  private next = 0;
  private readonly pending = new Map<number, (ok: boolean[] | null) => void>();

  constructor(private readonly keyring: Keyring) {}

  /** The entries of a feed message whose signatures verify with a key of their department, as verifiedName gives. */
  async check({ department, entries }: Received): Promise<ReadonlySet<string>> {
    const none = new Set<string>();
    let keys: KeyObject[];
    try {
      keys = this.keyring.verifyingKeys(department, 'any');
    } catch {
      return none;
    }
    const worker = this.start();
    if (!worker || entries.length === 0) return none;
    const id = this.next++;
    const ok = await new Promise<boolean[] | null>((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ id, keys, items: entries.map((e) => [String(e.hash), String(e.signature)]) });
    });
    return new Set(ok ? entries.filter((_, i) => ok[i]).map((e) => verifiedName(department, e)) : []);
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.settleAll();
    await worker?.terminate();
  }

  private start(): Worker | null {
    if (this.worker || this.failed) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(PROGRAM, { eval: true });
    } catch (err) {
      log.warn('centre: no thread for signature checks; entries are checked in the collector itself', { reason: errorMessage(err) });
      this.failed = true;
      return null;
    }
    worker.unref();
    worker.on('message', ({ id, ok }: { id: number; ok: boolean[] }) => {
      this.pending.get(id)?.(ok);
      this.pending.delete(id);
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      // the copy checks every entry itself from now on: slower, never less
      log.warn('centre: the signature-checking thread stopped; entries are checked in the collector itself', { reason: why });
      this.failed = true;
      this.worker = null;
      this.settleAll();
    };
    worker.on('error', (err) => lost(errorMessage(err)));
    worker.on('exit', (code) => lost(`exit ${code}`));
    this.worker = worker;
    return worker;
  }

  private settleAll(): void {
    for (const resolve of this.pending.values()) resolve(null);
    this.pending.clear();
  }
}
