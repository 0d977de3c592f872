import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify, type KeyObject } from 'node:crypto';

/** What becomes of the data a target received under a grant once the grant ends (DESIGN §9). */
export const ON_END = ['keep', 'purge'] as const;
export type OnEnd = (typeof ON_END)[number];

/** One approved application as the centre lists it to the nodes: who may receive which items of a resource, until when. */
export interface ListedGrant {
  /** the application's id: envelopes and ledger entries name it */
  id: string;
  resource: string;
  /** the department that receives */
  department: string;
  items: string[];
  approvedAt: string;
  /** null: until revoked */
  validUntil: string | null;
  /** set once revoked or expired */
  ended: { at: string; as: 'revoked' | 'expired'; reason: string } | null;
  onEnd: OnEnd;
}

/** The grant list the centre publishes, signed with its own key; a node keeps the newest it received. */
export interface SignedGrantList {
  exchange: string;
  version: number;
  issuedAt: string;
  grants: ListedGrant[];
  signature: string;
}

/** The exact text the centre signs. */
export function grantListText(list: Omit<SignedGrantList, 'signature'>): string {
  return JSON.stringify([list.exchange, list.version, list.issuedAt, list.grants.map((g) => [g.id, g.resource, g.department, g.items, g.approvedAt, g.validUntil, g.ended, g.onEnd])]);
}

export function grantListSignedBy(list: SignedGrantList, centreKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(grantListText(list)), centreKey, Buffer.from(list.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A grant in force at `now`: approved, not ended, not past its validity. */
export const inForce = (g: ListedGrant, now = new Date().toISOString()): boolean => g.ended === null && (g.validUntil === null || g.validUntil > now);

/** Where a node keeps the last grant list the centre sent it, in its keys folder. */
export const grantListFile = (keysDir: string): string => join(keysDir, 'grants.json');

/**
 * The kept list, when there is one, the centre signed it and it is this exchange's: two exchanges'
 * configs may share a keys folder, and a list of the other's grants decides nothing here.
 */
export function loadKeptGrants(keysDir: string, centreKey: () => KeyObject, exchange: string): SignedGrantList | null {
  const file = grantListFile(keysDir);
  if (!existsSync(file)) return null;
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as SignedGrantList;
    return list.exchange === exchange && grantListSignedBy(list, centreKey()) ? list : null;
  } catch {
    return null;
  }
}

export function keepGrants(keysDir: string, list: SignedGrantList): void {
  writeFileSync(grantListFile(keysDir), JSON.stringify(list, null, 2));
}
