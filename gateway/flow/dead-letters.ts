import type { Database } from '../../adapters/adapter';
import { putQuarantine } from '../bookkeeping/quarantine';
import type { EnvelopeMeta } from '../envelope/envelope';
import type { Ledger } from '../ledger/ledger';
import { log } from '../log';
import { retrying } from './retry';

/** A message as it arrived: its headers, content encoding and bytes. */
export interface Raw {
  headers: Record<string, unknown>;
  contentEncoding?: string;
  body: Buffer;
}

/** Where a stored dead letter keeps its AMQP content encoding (needed to verify it when replayed). */
export const ENCODING = 'x-dxg-content-encoding';

/** What is known of a message that could not be used: perhaps nothing beyond its raw bytes. */
export type Claims = Partial<Pick<EnvelopeMeta, 'messageId' | 'flow' | 'from' | 'to' | 'count'>>;

/**
 * A department's dead letters: messages that cannot be applied (unverifiable, unparseable, misrouted,
 * oversize, for an unknown flow or resource). Each is stored whole with its reason in the quarantine,
 * with a ledger entry, before the broker is told it is done; `dxg replay` can send it again.
 */
export class DeadLetters {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
  ) {}

  private get department(): string {
    return this.ledger.department;
  }

  async store(claims: Claims, raw: Raw, reason: string, signal: AbortSignal): Promise<void> {
    log.warn('message dead-lettered', { department: this.department, messageId: claims.messageId, flow: claims.flow, from: claims.from, reason });
    await retrying(signal, `store dead letter ${claims.messageId ?? ''}`, () =>
      this.db.transaction(async (tx) => {
        await putQuarantine(tx, [{
          stage: 'dead-letter', flow: claims.flow, from: claims.from, to: this.department, messageId: claims.messageId,
          reason, headers: { ...raw.headers, [ENCODING]: raw.contentEncoding }, body: raw.body,
        }]);
        await this.ledger.append(tx, [{
          kind: 'dead-letter', flow: claims.flow, messageId: claims.messageId, from: claims.from, to: this.department,
          count: claims.count ?? 0, detail: { reason, bytes: raw.body.length },
        }]);
      }), this.db.sql.isConflict);
  }
}

/** The claims in a message's headers, read without trusting them (for the record only). */
export function claimsOf(messageId: unknown, headers: Record<string, unknown> | undefined): Claims {
  const h = headers ?? {};
  const s = (v: unknown) => (typeof v === 'string' && v ? v.slice(0, 100) : undefined);
  const n = Number(h['dxg-count']);
  return {
    messageId: s(messageId),
    flow: s(h['dxg-flow']),
    from: s(h['dxg-from']),
    to: s(h['dxg-to']),
    count: Number.isSafeInteger(n) && n >= 0 ? n : undefined,
  };
}
