import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Keyring } from './keys';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Bodies larger than this travel gzip-encoded (bulk batches shrink five- to tenfold). */
const GZIP_ABOVE = 8 * 1024;

/**
 * zlib's output chunk for a body of about this size: its default of 16 KiB costs a round trip to the
 * thread pool per chunk, which made inflating a batch three times slower than the work itself.
 */
const chunkFor = (expected: number): number => Math.min(Math.max(2 ** Math.ceil(Math.log2(Math.max(expected, 1))), 64 * 1024), 4 * 1024 * 1024);

export type MessageKind = 'records' | 'reconcile' | 'receipt' | 'resend' | 'resync';
const KINDS: ReadonlySet<string> = new Set<MessageKind>(['records', 'reconcile', 'receipt', 'resend', 'resync']);

/** What an envelope says about itself; all of it is covered by the sender's signature. */
export interface EnvelopeMeta {
  kind: MessageKind;
  messageId: string;
  flow: string;
  resource: string;
  from: string;
  to: string;
  sequence: number;
  count: number;
  /** the sender's ledger head when it sealed the envelope: each receiver keeps the highest it saw (an anchor of that ledger) */
  head?: LedgerHead;
  /** in an exchange governed by a catalog: the grant the records travel under (`unconditional` for an unconditional resource) */
  grant?: string;
  /**
   * How a records body lays its records out (format 4): `rows`, each record an array under one list of
   * indicators. Absent: each record an object (formats 1–3).
   */
  layout?: BodyLayout;
}

export type BodyLayout = 'rows';
const LAYOUTS: ReadonlySet<string> = new Set<BodyLayout>(['rows']);

/** The newest envelope format this dxg reads and, unless `broker.envelope_format` says otherwise, sends. */
export const NEWEST_FORMAT = 4;

export interface LedgerHead {
  seq: string;
  hash: string;
}

/** The algorithms envelopes and ledger entries are signed and hashed with; SM2/SM3 (GB/T 39786) can stand beside them. */
export const ALGORITHM = 'ed25519/sha256';

export interface Sealed {
  meta: EnvelopeMeta;
  headers: Record<string, string | number>;
  body: Buffer;
  contentEncoding?: 'gzip';
}

export class EnvelopeError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'EnvelopeError';
  }
}

/** The AMQP headers an envelope carries its claims in. */
export const HEADERS = {
  kind: 'dxg-kind',
  flow: 'dxg-flow',
  resource: 'dxg-resource',
  from: 'dxg-from',
  to: 'dxg-to',
  sequence: 'dxg-sequence',
  count: 'dxg-count',
  sha256: 'dxg-sha256',
  signature: 'dxg-signature',
  format: 'dxg-format',
  algorithm: 'dxg-alg',
  head: 'dxg-head',
  grant: 'dxg-grant',
  layout: 'dxg-body',
} as const;

/**
 * What the sender signs: every claim of the envelope, its encoding and the digest of its body.
 * Format 2 also names the algorithms and carries the sender's ledger head; format 3 adds the grant
 * the records travel under; format 4 names the body's layout (its grant, if any, as in 3). A node
 * accepts the earlier formats as well, so envelopes still queued from before an upgrade, or sent by a
 * node not yet upgraded, keep their meaning.
 */
export function signedText(meta: EnvelopeMeta, encoding: string, sha256: string): string {
  const claims = [meta.kind, meta.messageId, meta.flow, meta.resource, meta.from, meta.to, meta.sequence, meta.count, encoding, sha256];
  if (!meta.head) return ['dxg/1', ...claims].join('\n');
  const signed = [ALGORITHM, ...claims, `${meta.head.seq}:${meta.head.hash}`];
  // a grant is never empty (readMeta refuses an empty header): '' stands for none
  if (meta.layout) return ['dxg/4', ...signed, meta.grant ?? '', meta.layout].join('\n');
  return (meta.grant === undefined ? ['dxg/2', ...signed] : ['dxg/3', ...signed, meta.grant]).join('\n');
}

/** The format an envelope with these claims is sealed in (what `dxg-format` says). */
function formatOf(meta: EnvelopeMeta): number {
  if (!meta.head) return 1;
  if (meta.layout) return 4;
  return meta.grant === undefined ? 2 : 3;
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Serialises a payload, compresses it if large, and signs it as the sending department. */
export function seal(keyring: Keyring, meta: EnvelopeMeta, payload: unknown): Promise<Sealed> {
  return sealJson(keyring, meta, JSON.stringify(payload));
}

/** As seal, for a payload already serialised (as text, or as its UTF-8 bytes). */
export async function sealJson(keyring: Keyring, meta: EnvelopeMeta, text: string | Buffer): Promise<Sealed> {
  if (meta.layout && !meta.head) throw new Error('a body layout is claimed in format 4 only, which carries the ledger head');
  const json = typeof text === 'string' ? Buffer.from(text) : text;
  const gzipped = json.length > GZIP_ABOVE;
  const body = gzipped ? await gzipAsync(json, { level: 1, chunkSize: chunkFor(json.length / 4) }) : json;
  const digest = sha256(body);
  const encoding = gzipped ? 'gzip' : 'identity';
  const headers = {
    [HEADERS.kind]: meta.kind,
    [HEADERS.flow]: meta.flow,
    [HEADERS.resource]: meta.resource,
    [HEADERS.from]: meta.from,
    [HEADERS.to]: meta.to,
    [HEADERS.sequence]: meta.sequence,
    [HEADERS.count]: meta.count,
    [HEADERS.sha256]: digest,
    ...(meta.head ? { [HEADERS.format]: formatOf(meta), [HEADERS.algorithm]: ALGORITHM, [HEADERS.head]: `${meta.head.seq}:${meta.head.hash}` } : {}),
    ...(meta.head && meta.grant !== undefined ? { [HEADERS.grant]: meta.grant } : {}),
    ...(meta.head && meta.layout ? { [HEADERS.layout]: meta.layout } : {}),
    [HEADERS.signature]: keyring.sign(meta.from, signedText(meta, encoding, digest)),
  };
  return { meta, headers, body, contentEncoding: gzipped ? 'gzip' : undefined };
}

/** The envelope's claims, read from AMQP properties without trusting them yet. */
export function readMeta(messageId: unknown, headers: Record<string, unknown> | undefined): EnvelopeMeta {
  const h = headers ?? {};
  const text = (name: string) => {
    const v = h[name];
    if (typeof v !== 'string' || v === '') throw new EnvelopeError(`header ${name} is missing`);
    return v;
  };
  const int = (name: string) => {
    const v = Number(h[name]);
    if (!Number.isSafeInteger(v) || v < 0) throw new EnvelopeError(`header ${name} is missing or not a count`);
    return v;
  };
  if (typeof messageId !== 'string' || !messageId) throw new EnvelopeError('message id is missing');
  const kind = text(HEADERS.kind);
  if (!KINDS.has(kind)) throw new EnvelopeError(`unknown message kind '${kind}'`);
  const meta: EnvelopeMeta = {
    kind: kind as MessageKind,
    messageId,
    flow: text(HEADERS.flow),
    resource: text(HEADERS.resource),
    from: text(HEADERS.from),
    to: text(HEADERS.to),
    sequence: int(HEADERS.sequence),
    count: int(HEADERS.count),
  };
  const format = h[HEADERS.format] === undefined ? 1 : Number(h[HEADERS.format]);
  if (format === 1) return meta;
  if (format !== 2 && format !== 3 && format !== 4) throw new EnvelopeError(`envelope format ${String(h[HEADERS.format])} is newer than this dxg knows (${NEWEST_FORMAT})`);
  if (text(HEADERS.algorithm) !== ALGORITHM) throw new EnvelopeError(`signed with '${text(HEADERS.algorithm)}', which this dxg cannot check (it checks ${ALGORITHM})`);
  const head = /^(\d{1,19}):([0-9a-f]{64})$/.exec(text(HEADERS.head));
  if (!head) throw new EnvelopeError(`header ${HEADERS.head} is not a ledger head (seq:hash)`);
  const grant = format === 3 || (format === 4 && h[HEADERS.grant] !== undefined) ? { grant: text(HEADERS.grant) } : {};
  if (format !== 4) return { ...meta, head: { seq: head[1], hash: head[2] }, ...grant };
  const layout = text(HEADERS.layout);
  if (!LAYOUTS.has(layout)) throw new EnvelopeError(`body layout '${layout}' is not one this dxg knows (${[...LAYOUTS].join(', ')})`);
  if (meta.kind !== 'records') throw new EnvelopeError(`a ${meta.kind} message has no body layout (only records are laid out in rows)`);
  return { ...meta, head: { seq: head[1], hash: head[2] }, ...grant, layout: layout as BodyLayout };
}

/**
 * Verifies an envelope before anything else is done with it: size, whether this queue takes messages
 * from this sender for this addressee (`admit`), digest, then the sender's signature over all of its
 * claims; only then decompresses and parses the body. Decompression stops at `maxBytes` of output:
 * a source never seals more JSON than half of that into one message, so a body that inflates further
 * is a bomb, not a batch.
 */
export async function open(
  keyring: Keyring,
  message: { messageId?: unknown; headers?: Record<string, unknown>; contentEncoding?: unknown; body: Buffer },
  maxBytes: number,
  admit: (meta: EnvelopeMeta) => string | null = () => null,
): Promise<{ meta: EnvelopeMeta; payload: unknown }> {
  const meta = readMeta(message.messageId, message.headers);
  if (message.body.length > maxBytes) throw new EnvelopeError(`message of ${message.body.length} bytes exceeds the limit of ${maxBytes}`);
  const refused = admit(meta);
  if (refused) throw new EnvelopeError(refused);
  const digest = sha256(message.body);
  if (message.headers?.[HEADERS.sha256] !== digest) throw new EnvelopeError('body does not match its SHA-256 digest (corrupted or altered)');
  const encoding = message.contentEncoding === 'gzip' ? 'gzip' : message.contentEncoding ? String(message.contentEncoding) : 'identity';
  if (encoding !== 'gzip' && encoding !== 'identity') throw new EnvelopeError(`unsupported content encoding '${encoding}'`);
  const signature = message.headers?.[HEADERS.signature];
  let valid: boolean;
  try {
    valid = typeof signature === 'string' && keyring.verify(meta.from, signedText(meta, encoding, digest), signature);
  } catch {
    throw new EnvelopeError(`sender '${meta.from}' has no public key here`);
  }
  if (!valid) {
    throw new EnvelopeError(`signature does not verify with the public key of department '${meta.from}' (forged or altered)`);
  }
  let json: Buffer;
  try {
    json = encoding === 'gzip' ? await gunzipAsync(message.body, { maxOutputLength: maxBytes, chunkSize: chunkFor(Math.min(message.body.length * 8, maxBytes)) }) : message.body;
  } catch (err) {
    throw new EnvelopeError(`body cannot be decompressed: ${(err as Error).message}`);
  }
  try {
    return { meta, payload: JSON.parse(json.toString('utf8')) };
  } catch (err) {
    throw new EnvelopeError(`body is not valid JSON: ${(err as Error).message}`);
  }
}
