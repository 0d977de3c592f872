import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** One department key as the centre's key registry lists it (DESIGN §7). */
export interface ListedKey {
  department: string;
  /** SHA-256 of the key's SPKI PEM text */
  id: string;
  algorithm: 'ed25519';
  publicKey: string;
  validFrom: string;
  /** the end of its overlap after a rotation; null while it is the department's current key */
  validUntil: string | null;
  revokedAt: string | null;
}

/** The key list the centre publishes, signed with its own key. */
export interface SignedKeyList {
  exchange: string;
  /** grows with every change at the registry: a node keeps the list with the highest */
  version: number;
  issuedAt: string;
  keys: ListedKey[];
  /** Ed25519 signature of the centre over `listText(list)` */
  signature: string;
}

export const keyId = (publicKeyPem: string): string => createHash('sha256').update(publicKeyPem.trim()).digest('hex');

/** The exact text the centre signs: every field but the signature, in a fixed order. */
export function listText(list: Omit<SignedKeyList, 'signature'>): string {
  return JSON.stringify([list.exchange, list.version, list.issuedAt, list.keys.map((k) => [k.department, k.id, k.algorithm, k.publicKey, k.validFrom, k.validUntil, k.revokedAt])]);
}

export function listSignedBy(list: SignedKeyList, centreKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(listText(list)), centreKey, Buffer.from(list.signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * A department's keys that may check a signature: `now`, those valid at this moment (a live
 * envelope); `any`, every key it ever had that was not revoked (entries of a ledger written under
 * an earlier key, before a rotation).
 */
export function usableKeys(list: SignedKeyList, department: string, when: 'now' | 'any', now = new Date().toISOString()): KeyObject[] {
  return list.keys
    .filter((k) => k.department === department && !k.revokedAt && (when === 'any' || (k.validFrom <= now && (k.validUntil === null || k.validUntil > now))))
    .map((k) => parsed(k.publicKey));
}

/** Keys parsed once: parsing a PEM costs as much as checking a signature with it, and the centre checks every entry. */
const PARSED = new Map<string, KeyObject>();
function parsed(pem: string): KeyObject {
  let key = PARSED.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    PARSED.set(pem, key);
  }
  return key;
}

/** What a department sends to register a key: the key, signed by itself (it holds it) and, for a rotation, by its current key. */
export interface KeyAnnouncement {
  publicKey: string;
  /** the new key's signature over `announced(department, id)` */
  proof: string;
  /** the current key's signature over the same; required once the department has a key */
  endorsement?: string;
}

export const announced = (department: string, id: string): string => `dxg key of ${department}: ${id}`;
