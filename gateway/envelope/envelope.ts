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

export type MessageKind = 'records' | 'reconcile' | 'receipt';

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
}

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

const H = {
  kind: 'dxg-kind',
  flow: 'dxg-flow',
  resource: 'dxg-resource',
  from: 'dxg-from',
  to: 'dxg-to',
  sequence: 'dxg-sequence',
  count: 'dxg-count',
  sha256: 'dxg-sha256',
  signature: 'dxg-signature',
} as const;

function signedText(meta: EnvelopeMeta, encoding: string, sha256: string): string {
  return ['dxg/1', meta.kind, meta.messageId, meta.flow, meta.resource, meta.from, meta.to, meta.sequence, meta.count, encoding, sha256].join('\n');
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Serialises a payload, compresses it if large, and signs it as the sending department. */
export function seal(keyring: Keyring, meta: EnvelopeMeta, payload: unknown): Promise<Sealed> {
  return sealJson(keyring, meta, JSON.stringify(payload));
}

/** As seal, for a payload already serialised. */
export async function sealJson(keyring: Keyring, meta: EnvelopeMeta, text: string): Promise<Sealed> {
  const json = Buffer.from(text);
  const gzipped = json.length > GZIP_ABOVE;
  const body = gzipped ? await gzipAsync(json, { level: 1, chunkSize: chunkFor(json.length / 4) }) : json;
  const digest = sha256(body);
  const encoding = gzipped ? 'gzip' : 'identity';
  const headers = {
    [H.kind]: meta.kind,
    [H.flow]: meta.flow,
    [H.resource]: meta.resource,
    [H.from]: meta.from,
    [H.to]: meta.to,
    [H.sequence]: meta.sequence,
    [H.count]: meta.count,
    [H.sha256]: digest,
    [H.signature]: keyring.sign(meta.from, signedText(meta, encoding, digest)),
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
  const kind = text(H.kind);
  if (kind !== 'records' && kind !== 'reconcile' && kind !== 'receipt') throw new EnvelopeError(`unknown message kind '${kind}'`);
  return {
    kind,
    messageId,
    flow: text(H.flow),
    resource: text(H.resource),
    from: text(H.from),
    to: text(H.to),
    sequence: int(H.sequence),
    count: int(H.count),
  };
}

/**
 * Verifies an envelope before anything else is done with it: size, digest, then the sender's
 * signature over all of its claims; only then decompresses (bounded) and parses the body.
 */
export async function open(
  keyring: Keyring,
  message: { messageId?: unknown; headers?: Record<string, unknown>; contentEncoding?: unknown; body: Buffer },
  maxBytes: number,
): Promise<{ meta: EnvelopeMeta; payload: unknown }> {
  const meta = readMeta(message.messageId, message.headers);
  if (message.body.length > maxBytes) throw new EnvelopeError(`message of ${message.body.length} bytes exceeds the limit of ${maxBytes}`);
  const digest = sha256(message.body);
  if (message.headers?.[H.sha256] !== digest) throw new EnvelopeError('body does not match its SHA-256 digest (corrupted or altered)');
  const encoding = message.contentEncoding === 'gzip' ? 'gzip' : message.contentEncoding ? String(message.contentEncoding) : 'identity';
  if (encoding !== 'gzip' && encoding !== 'identity') throw new EnvelopeError(`unsupported content encoding '${encoding}'`);
  const signature = message.headers?.[H.signature];
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
    json = encoding === 'gzip' ? await gunzipAsync(message.body, { maxOutputLength: maxBytes * 20, chunkSize: chunkFor(message.body.length * 8) }) : message.body;
  } catch (err) {
    throw new EnvelopeError(`body cannot be decompressed: ${(err as Error).message}`);
  }
  try {
    return { meta, payload: JSON.parse(json.toString('utf8')) };
  } catch (err) {
    throw new EnvelopeError(`body is not valid JSON: ${(err as Error).message}`);
  }
}
