import { createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import { CENTRE } from '../config/duration';
import type { ExchangeConfig } from '../config/model';
import { announced, keyId, listText, type KeyAnnouncement, type ListedKey, type SignedKeyList } from '../envelope/key-list';
import type { Keyring } from '../envelope/keys';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import type { ControlRequest } from '../node/control';
import type { Journal } from './journal';


/** How long an old key stays valid after a rotation, so envelopes already signed with it still verify. */
const OVERLAP_MS = 24 * 3600_000;

/**
 * The key registry (DESIGN §7, §8): every department's public keys with their validity, changed only
 * by a department proving it holds its current key, or by an operator with a recorded reason; each
 * change is in the centre's journal and sent, as a list signed by the centre, to every node.
 */
export class KeyRegistry {
  constructor(
    private readonly db: Database,
    private readonly config: ExchangeConfig,
    private readonly keyring: Keyring,
    private readonly journal: Journal,
    private readonly publisher: Publisher,
    private readonly topology: Topology,
  ) {}

  /** At the centre's start: departments the registry has no key of take the public key in its keys folder (as exchanges set up before the registry did). */
  async importFolder(): Promise<void> {
    for (const d of this.config.departments.keys()) {
      const file = join(this.config.dirs.keys, `${d}.pub`);
      if (!existsSync(file) || (await this.current(d)).length) continue;
      await this.insert(d, readFileSync(file, 'utf8'));
      await this.journal.record(CENTRE, 'key registered', `${d} ${keyId(readFileSync(file, 'utf8'))}`, `from ${file} at the centre's start`);
    }
    await this.adoptOwn();
  }

  /** A department's announcement, as it came over the broker from its own user. */
  async register(department: string, a: KeyAnnouncement): Promise<string> {
    const id = keyId(a.publicKey);
    const refuse = async (why: string) => {
      await this.journal.record(`department:${department}`, 'key refused', `${department} ${id}`, why);
      log.warn('key registration refused', { department, key: id, reason: why });
      return `refused: ${why}`;
    };
    let key;
    try {
      key = createPublicKey(a.publicKey);
    } catch (err) {
      return refuse(`not a public key: ${errorMessage(err)}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') return refuse(`an ${key.asymmetricKeyType} key; the registry takes ed25519`);
    if (weak(key)) return refuse('a key of all zero bytes');
    const text = Buffer.from(announced(department, id));
    if (!safeVerify(text, key, a.proof)) return refuse('the key did not sign its own announcement (whoever sent it does not hold it)');
    const current = await this.current(department);
    if (current.some((k) => k.id === id)) return 'already registered';
    if (current.length && !current.some((k) => a.endorsement && safeVerify(text, createPublicKey(k.publicKey), a.endorsement))) {
      return refuse("not signed by the department's current key (a lost key is replaced by an operator: POST /api/keys/replace)");
    }
    await this.rotate(department, a.publicKey, current);
    await this.journal.record(`department:${department}`, current.length ? 'key rotated' : 'key registered', `${department} ${id}`, current.length ? `endorsed by ${current.map((k) => k.id.slice(0, 16)).join(', ')}` : 'first key of the department');
    await this.changed();
    return current.length ? 'rotated' : 'registered';
  }

  /**
   * What became of a key a department announced: listed, refused (with the reason the journal keeps),
   * or nothing yet (the announcement has not reached the registry).
   */
  async verdict(department: string, id: string): Promise<{ state: 'listed' | 'refused' | 'pending'; reason?: string }> {
    const [listed] = await this.db.query(sql`SELECT 1 FROM centre_keys WHERE department = ${department} AND id = ${id}`);
    if (listed) return { state: 'listed' };
    const [refused] = await this.db.query<{ reason: string }>(sql`SELECT reason FROM centre_journal WHERE action = 'key refused' AND subject = ${`${department} ${id}`} ORDER BY seq DESC LIMIT 1`);
    return refused ? { state: 'refused', reason: refused.reason } : { state: 'pending' };
  }

  /** An operator's replacement of a lost or compromised key: the old ones end now. */
  async replace(department: string, publicKey: string, operator: string, reason: string): Promise<ListedKey> {
    if (!this.config.departments.has(department)) throw new DxgError('DXG_USAGE', `no department '${department}'`);
    let key;
    try {
      key = createPublicKey(publicKey);
    } catch (err) {
      throw new DxgError('DXG_USAGE', `not a public key: ${errorMessage(err)}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new DxgError('DXG_USAGE', 'the registry takes ed25519 keys');
    if (weak(key)) throw new DxgError('DXG_USAGE', 'a key of all zero bytes verifies forged signatures: refused');
    const now = new Date().toISOString();
    await this.db.execute(sql`UPDATE centre_keys SET valid_until = ${now}, change = nextval('centre_key_changes') WHERE department = ${department} AND revoked_at IS NULL AND (valid_until IS NULL OR valid_until > ${now})`);
    const added = await this.insert(department, publicKey);
    await this.journal.record(operator, 'key replaced', `${department} ${added.id}`, reason);
    await this.changed();
    return added;
  }

  async revoke(department: string, id: string, operator: string, reason: string): Promise<boolean> {
    const rows = await this.db.query(sql`UPDATE centre_keys SET revoked_at = ${new Date().toISOString()}, revoked_reason = ${reason}, change = nextval('centre_key_changes')
      WHERE department = ${department} AND id = ${id} AND revoked_at IS NULL RETURNING id`);
    if (!rows.length) return false;
    await this.journal.record(operator, 'key revoked', `${department} ${id}`, reason);
    await this.changed();
    return true;
  }

  async signed(): Promise<SignedKeyList> {
    const rows = await this.db.query<{ department: string; id: string; public_key: string; valid_from: string; valid_until: string | null; revoked_at: string | null }>(
      sql`SELECT department, id, public_key, valid_from, valid_until, revoked_at FROM centre_keys ORDER BY department, valid_from, id`);
    const [v] = await this.db.query<{ version: string | null }>(sql`SELECT max(change) AS version FROM centre_keys`);
    const body = {
      exchange: this.config.exchange, version: Number(v?.version ?? 0), issuedAt: new Date().toISOString(),
      keys: rows.map((r) => ({ department: r.department, id: r.id, algorithm: 'ed25519' as const, publicKey: r.public_key, validFrom: r.valid_from, validUntil: r.valid_until, revokedAt: r.revoked_at })),
    };
    return { ...body, signature: this.keyring.sign(CENTRE, listText(body)) };
  }

  /** Sends the list to a node whose heartbeat names an older one. */
  async sendTo(department: string, heldVersion: number | undefined): Promise<void> {
    const list = await this.signed();
    if (heldVersion !== undefined && heldVersion >= list.version) return;
    const request: ControlRequest = { request: 'keys', id: `${list.version}`, list };
    await this.publisher.publish(this.topology.controlExchange, department, Buffer.from(JSON.stringify(request)), { messageId: `centre:keys:${department}:${list.version}`, contentType: 'application/json', type: 'dxg.control' });
  }

  private async changed(): Promise<void> {
    await this.adoptOwn();
    for (const d of this.config.departments.keys()) await this.sendTo(d, undefined).catch((err) => log.warn('key list not sent; the node gets it after its next heartbeat', { department: d, error: errorMessage(err) }));
  }

  /** The centre checks the ledgers it collects with the same list it publishes. */
  private async adoptOwn(): Promise<void> {
    const list = await this.signed();
    if (list.keys.length) this.keyring.adopt(list, false);
  }

  private async current(department: string): Promise<{ id: string; publicKey: string }[]> {
    const now = new Date().toISOString();
    const rows = await this.db.query<{ id: string; public_key: string }>(sql`SELECT id, public_key FROM centre_keys
      WHERE department = ${department} AND revoked_at IS NULL AND valid_from <= ${now} AND (valid_until IS NULL OR valid_until > ${now})`);
    return rows.map((r) => ({ id: r.id, publicKey: r.public_key }));
  }

  /** The new key is current from now; the old ones stay valid through the overlap. */
  private async rotate(department: string, publicKey: string, old: { id: string }[]): Promise<void> {
    const until = new Date(Date.now() + OVERLAP_MS).toISOString();
    for (const k of old) await this.db.execute(sql`UPDATE centre_keys SET valid_until = ${until}, change = nextval('centre_key_changes') WHERE department = ${department} AND id = ${k.id}`);
    await this.insert(department, publicKey);
  }

  private async insert(department: string, publicKey: string): Promise<ListedKey> {
    const k: ListedKey = { department, id: keyId(publicKey), algorithm: 'ed25519', publicKey: publicKey.trim() + '\n', validFrom: new Date().toISOString(), validUntil: null, revokedAt: null };
    // a key the department had before is current again from now (an operator's undo)
    await this.db.execute(sql`INSERT INTO centre_keys (department, id, public_key, valid_from, change) VALUES (${department}, ${k.id}, ${k.publicKey}, ${k.validFrom}, nextval('centre_key_changes'))
      ON CONFLICT (department, id) DO UPDATE SET valid_from = EXCLUDED.valid_from, valid_until = NULL, revoked_at = NULL, revoked_reason = NULL, change = EXCLUDED.change`);
    return k;
  }
}

/** An Ed25519 public key that is all zero bytes (the raw key is the last 32 bytes of its DER). */
function weak(key: ReturnType<typeof createPublicKey>): boolean {
  return key.export({ type: 'spki', format: 'der' }).subarray(-32).every((b) => b === 0);
}

function safeVerify(data: Buffer, key: ReturnType<typeof createPublicKey>, signature: string | undefined): boolean {
  if (!signature) return false;
  try {
    return verify(null, data, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
