import type { Database } from '../../adapters/adapter';
import { putQuarantine } from '../bookkeeping/quarantine';
import { sha256, type EnvelopeMeta } from '../envelope/envelope';
import type { Ledger } from '../ledger/ledger';
import { log } from '../log';
import { GaveUp, retrying } from './retry';

/** A message as it arrived: its headers, content encoding and bytes. */
export interface Raw {
  headers: Record<string, unknown>;
  contentEncoding?: string;
  body: Buffer;
}

/** Where a stored dead letter keeps its AMQP content encoding (needed to verify it when replayed). */
export const ENCODING = 'x-dxg-content-encoding';
/** Set on a dead letter stored only in part: what was kept, of how many bytes, and the whole body's SHA-256. */
export const PARTIAL = 'x-dxg-stored';

/**
 * Bodies up to this size are stored whole; of a larger one only its start (with its size and digest),
 * so that no message is too large for its own dead-letter row (MariaDB's max_allowed_packet, a
 * bloated database) and none can be retried forever for that.
 */
const STORE_WHOLE = 1024 * 1024;
const STORE_START = 64 * 1024;

/** What is known of a message that could not be used: perhaps nothing beyond its raw bytes. */
export type Claims = Partial<Pick<EnvelopeMeta, 'messageId' | 'flow' | 'from' | 'to' | 'count'>>;

/**
 * A department's dead letters: messages that cannot be applied (unverifiable, unparseable, misrouted,
 * oversize, for an unknown flow or resource). Each is stored whole with its reason in the quarantine,
 * with a ledger entry, before the broker is told it is done; `dxg replay` can send it again.
 */
export class DeadLetters {
  /** `known`: the exchange's flows and departments, the only names a dead letter's claims are recorded under */
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly known: { flows: ReadonlySet<string>; departments: ReadonlySet<string> },
  ) {}

  private get department(): string {
    return this.ledger.department;
  }

  /**
   * Its flow, sender and addressee as it claims them, where they name this exchange's own: the claims
   * go on into the ledger, the centre's alarms and the metrics' labels, and an unverified sender must
   * not choose that text (markup, an unbounded set of labels). The headers are kept whole with it.
   */
  private vouched(claims: Claims): Claims {
    const { flows, departments } = this.known;
    const only = (set: ReadonlySet<string>, v: string | undefined) => (v !== undefined && set.has(v) ? v : undefined);
    return { ...claims, flow: only(flows, claims.flow), from: only(departments, claims.from), to: only(departments, claims.to) };
  }

  async store(claimed: Claims, raw: Raw, reason: string, signal: AbortSignal): Promise<void> {
    const claims = this.vouched(claimed);
    log.warn('message dead-lettered', { department: this.department, messageId: claims.messageId, flow: claims.flow, from: claims.from, reason });
    const whole = raw.body.length <= STORE_WHOLE;
    const kept = whole ? undefined : `first ${STORE_START} of ${raw.body.length} bytes; body sha256 ${sha256(raw.body)}`;
    try {
      await this.put(claims, reason, raw, { [ENCODING]: raw.contentEncoding, ...(kept ? { [PARTIAL]: kept } : {}) }, whole ? raw.body : raw.body.subarray(0, STORE_START), kept, signal);
    } catch (err) {
      if (!(err instanceof GaveUp)) throw err;
      // even its start and headers cannot be stored here: what is known of it, and why, still is
      const none = `nothing of it (storing it failed: ${err.message})`;
      await this.put(claims, reason, raw, { [PARTIAL]: none }, null, none, signal);
    }
  }

  private put(claims: Claims, reason: string, raw: Raw, extra: Record<string, unknown>, body: Buffer | null, kept: string | undefined, signal: AbortSignal): Promise<void> {
    return retrying(signal, `store dead letter ${claims.messageId ?? ''}`, () =>
      this.db.transaction(async (tx) => {
        await putQuarantine(tx, [{
          stage: 'dead-letter', flow: claims.flow, from: claims.from, to: this.department, messageId: claims.messageId,
          reason, headers: body ? { ...raw.headers, ...extra } : extra, body: body ?? undefined,
        }]);
        await this.ledger.append(tx, [{
          kind: 'dead-letter', flow: claims.flow, messageId: claims.messageId, from: claims.from, to: this.department,
          count: claims.count ?? 0, digest: sha256(raw.body), detail: { reason, bytes: raw.body.length, stored: kept },
        }]);
      }), this.db, true);
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
