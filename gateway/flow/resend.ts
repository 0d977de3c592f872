import { randomUUID } from 'node:crypto';
import type { Database } from '../../adapters/adapter';
import { markReplayed, type QuarantineRow } from '../bookkeeping/quarantine';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Flow } from '../config/model';
import { EnvelopeError, HEADERS, open, seal, sha256, type EnvelopeMeta } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import type { Ledger } from '../ledger/ledger';
import { log } from '../log';
import { ENCODING, PARTIAL, type DeadLetters, type Raw } from './dead-letters';

/** A target's request that a flow's source send one of its envelopes again: the dead letter as the target stored it. */
interface ResendPayload {
  deadLetter: number;
  message: { messageId: string; headers: Record<string, unknown>; contentEncoding?: string; body: string };
}

/** Headers the broker added on its way (dead-lettering) or that only mean something where the letter was stored. */
const NOT_SENT = new Set([ENCODING, PARTIAL, 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason', 'x-delivery-count']);

/**
 * Dead letters are sent again by their sender's node, never re-published by the target: a target may
 * write only its own exchanges, and no department can make a message appear to come from another.
 * The target sends the stored letter back to its source in a signed `resend` request (over its
 * receipts exchange); the source checks that the letter is an envelope it signed itself, for that
 * target and flow, and publishes it again unchanged, as itself. The target's inbox still makes sure
 * nothing is applied twice.
 */
export class Resender {
  constructor(
    private readonly department: string,
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly keyring: Keyring,
    private readonly topology: Topology,
    private readonly publisher: Publisher,
    private readonly flows: ReadonlyMap<string, Flow>,
    private readonly deadLetters: DeadLetters,
    private readonly maxBytes: number,
  ) {}

  /** Target side: asks the source of each dead letter's flow to send it again. Returns the ids asked for, and why others cannot be. */
  async request(items: QuarantineRow[]): Promise<{ sent: string[]; refused: string[] }> {
    const out = { sent: [] as string[], refused: [] as string[] };
    for (const item of items) {
      const flow = item.flow ? this.flows.get(item.flow) : undefined;
      const headers = item.headers ? (JSON.parse(item.headers) as Record<string, unknown>) : {};
      const refused = !flow || !flow.targets.some((t) => t.department === this.department) ? `no flow '${item.flow ?? '?'}' received here`
        : headers[PARTIAL] ? `only part of it was stored (${String(headers[PARTIAL])})`
        : !item.body || !item.message_id ? 'nothing stored to send'
        : unfit(headers, Buffer.from(item.body), flow!.source.department, this.department, this.maxBytes);
      if (refused) {
        out.refused.push(`#${item.id}: ${refused}`);
        continue;
      }
      const payload: ResendPayload = {
        deadLetter: item.id,
        message: {
          messageId: item.message_id!,
          headers: Object.fromEntries(Object.entries(headers).filter(([k]) => !NOT_SENT.has(k))),
          contentEncoding: typeof headers[ENCODING] === 'string' ? (headers[ENCODING] as string) : undefined,
          body: Buffer.from(item.body!).toString('base64'),
        },
      };
      const source = flow!.source.department;
      const sealed = await seal(this.keyring, { kind: 'resend', messageId: randomUUID(), flow: flow!.id, resource: flow!.resource, from: this.department, to: source, sequence: 0, count: 0, head: this.ledger.head }, payload);
      await this.publisher.publish(this.topology.receiptsExchange(this.department), source, sealed.body, { messageId: sealed.meta.messageId, headers: sealed.headers, contentEncoding: sealed.contentEncoding });
      await this.db.transaction(async (tx) => {
        await markReplayed(tx, [item.id]);
        await this.ledger.append(tx, [{
          kind: 'replay', flow: flow!.id, messageId: item.message_id!, from: source, to: this.department, count: 0,
          detail: { stage: 'dead-letter', items: [item.id], reason: item.reason, askedOf: source, request: sealed.meta.messageId },
        }]);
      });
      out.sent.push(item.message_id!);
    }
    return out;
  }

  /** Source side: why the receipts queue does not take this request, on its signed headers alone. */
  admits(meta: EnvelopeMeta): string | null {
    const flow = this.flows.get(meta.flow);
    return meta.to !== this.department ? `resend request addressed to '${meta.to}', not '${this.department}'`
      : !flow || flow.source.department !== this.department ? `resend request for flow '${meta.flow}', which '${this.department}' does not send`
      : !flow.targets.some((t) => t.department === meta.from) ? `resend request from '${meta.from}', which is not a target of flow '${meta.flow}'`
      : null;
  }

  /** Source side: sends the letter again if it is an envelope this department signed for the asking target. */
  async handle(meta: EnvelopeMeta, payload: unknown, raw: Raw, signal: AbortSignal): Promise<void> {
    const p = payload as ResendPayload;
    const m = p?.message;
    if (!m || typeof m.messageId !== 'string' || typeof m.body !== 'string' || !m.headers || typeof m.headers !== 'object') {
      return this.deadLetters.store(meta, raw, 'resend request body is malformed', signal);
    }
    const body = Buffer.from(m.body, 'base64');
    try {
      await open(this.keyring, { messageId: m.messageId, headers: m.headers, contentEncoding: m.contentEncoding, body }, this.maxBytes, (inner) =>
        inner.from !== this.department ? `the letter claims to come from '${inner.from}', not from '${this.department}'`
        : inner.to !== meta.from || inner.flow !== meta.flow ? `the letter is for '${inner.to}' under flow '${inner.flow}', not for '${meta.from}' under '${meta.flow}'`
        : inner.kind !== 'records' && inner.kind !== 'reconcile' ? `the letter is a ${inner.kind}, which is never sent again` : null);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      return this.deadLetters.store(meta, raw, `resend request refused: ${err.reason}`, signal);
    }
    await this.publisher.publish(this.topology.recordsExchange(this.department), this.topology.flowRoute(meta.from, meta.flow), body, {
      messageId: m.messageId, headers: { ...m.headers, 'x-dxg-resent-for': meta.messageId }, contentEncoding: m.contentEncoding,
    });
    await this.db.transaction((tx) => this.ledger.append(tx, [{
      kind: 'replay', flow: meta.flow, messageId: m.messageId, from: this.department, to: meta.from, count: 0,
      detail: { stage: 'dead-letter', resentFor: meta.from, request: meta.messageId, deadLetter: p.deadLetter },
    }]));
    log.info('dead letter sent again at its target\'s request', { flow: meta.flow, messageId: m.messageId, to: meta.from });
  }
}

/**
 * What makes a stored letter one its source would refuse to send again, checked here first so the
 * source is asked only for what it can send: it must claim to come from the flow's source, be
 * addressed here, match its digest, and fit (base64-encoded) in one message.
 */
function unfit(headers: Record<string, unknown>, body: Buffer, source: string, me: string, maxBytes: number): string | null {
  if (headers[HEADERS.from] !== source) return `it does not claim to come from '${source}', the flow's source`;
  if (headers[HEADERS.to] !== me) return `it is addressed to '${String(headers[HEADERS.to])}', not here`;
  if (headers[HEADERS.sha256] !== sha256(body)) return 'it does not match its digest';
  if (Math.ceil(body.length / 3) * 4 > maxBytes * 0.9) return `at ${body.length} bytes it cannot travel inside a request (message_max_bytes ${maxBytes})`;
  return null;
}
