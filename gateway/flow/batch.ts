import { randomUUID } from 'node:crypto';
import { outboxItem, type OutboxItem } from '../bookkeeping/outbox';
import type { QuarantineItem } from '../bookkeeping/quarantine';
import type { FlowTarget } from '../config/model';
import { sealJson, type Sealed } from '../envelope/envelope';
import { versionOf, type WireValue } from '../indicators/codec';
import type { LedgerEntry } from '../ledger/ledger';
import type { ExtractContext } from './extract';
import { isDeleted, keyText, objectsBody, projector, rowsBody, type BodyWriter, type WireRecord } from './records';
import { matches } from './where';

export type SealedBatch = Sealed & { keys: string[] };

/** What a set of source records becomes: envelopes per target, quarantined records, ledger entries. */
export interface Batch {
  quarantine: QuarantineItem[];
  /** records that failed the indicator set (no target gets them) */
  quarantinedRecords: number;
  /** per target: records whose code-table mapping failed */
  quarantinedFor: Map<string, number>;
  /** per target: records its `where` excludes */
  filtered: Map<string, number>;
  /** per target: records it holds no grant for (a governed exchange), not sent */
  withheld: Map<string, number>;
  sealed: SealedBatch[];
  outbox: OutboxItem[];
  ledger: LedgerEntry[];
  nextSequence: number;
  /** the version of each record key, valid or not (newer than any item already set aside for it) */
  versions: Map<string, bigint>;
}

/**
 * Validates records (in the indicator vocabulary) and, for each target, filters, projects and maps
 * them, then seals them into envelopes of at most batch_size records. A soft-deleted record travels
 * to a target that deletes as a delete carrying only its key.
 */
export async function buildBatch(ctx: ExtractContext, records: Record<string, WireValue>[], firstSequence: number, only?: ReadonlySet<string>): Promise<Batch> {
  const { binding, department } = ctx;
  const { flow, set } = binding;
  const targets = only ? flow.targets.filter((t) => only.has(t.department)) : flow.targets;
  const quarantine: QuarantineItem[] = [];
  const quarantinedFor = new Map<string, number>();
  const filtered = new Map<string, number>();
  const withheld = new Map<string, number>();
  // decided once per batch: a grant list that changes meanwhile applies from the next batch
  const covers = new Map(targets.map((t) => [t.department, ctx.governance.cover(flow, t)]));
  const perTarget = new Map<string, WireRecord[]>(flow.targets.map((t) => [t.department, []]));
  const targetQuarantine = new Map<string, QuarantineItem[]>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const projections = new Map(targets.map((t) => [t, projector(t)]));
  const versions = new Map<string, bigint>();
  const watermarkKind = set.kind(flow.source.watermark);
  let quarantinedRecords = 0;

  const keys = records.map((data) => keyText(flow.source.key.map((k) => data[k])));
  const twins = sameVersionTwice(records, keys, flow.source.watermark);
  for (const [i, data] of records.entries()) {
    const key = keys[i];
    const reasons = binding.check(data);
    let version: bigint | null = null;
    try {
      version = versionOf(watermarkKind, data[flow.source.watermark]);
    } catch (err) {
      reasons.push(`${flow.source.watermark}: ${(err as Error).message}`);
    }
    const twin = twins.get(`${key}\n${String(data[flow.source.watermark])}`);
    if (twin) reasons.push(`${twin} rows of this page have key ${key} and ${flow.source.watermark} ${String(data[flow.source.watermark])}: the key does not tell them apart, so none is sent`);
    if (version !== null) versions.set(key, version);
    if (reasons.length || version === null) {
      quarantinedRecords++;
      quarantine.push({ stage: 'source', flow: flow.id, from: department, recordKey: key, version, reason: reasons.join('; '), record: data });
      continue;
    }
    const deleted = flow.source.softDelete !== undefined && isDeleted(data[flow.source.softDelete]);
    for (const target of targets) {
      if (!matches(target.where, data)) {
        bump(filtered, target.department);
        continue;
      }
      if (!covers.get(target.department)!.ok) {
        bump(withheld, target.department);
        continue;
      }
      if (deleted && target.onDelete === 'delete') {
        if (target.mode === 'upsert') {
          const keyData = Object.fromEntries(flow.source.key.map((k) => [k, data[k]]));
          perTarget.get(target.department)!.push({ key, version: version.toString(), op: 'delete', data: keyData });
        } else bump(filtered, target.department); // an append-only target keeps its history
        continue;
      }
      const projected = projections.get(target)!(data);
      if (!projected.ok) {
        const item: QuarantineItem = { stage: 'source', flow: flow.id, from: department, to: target.department, recordKey: key, version, reason: projected.reason, record: data };
        quarantine.push(item);
        targetQuarantine.set(target.department, [...(targetQuarantine.get(target.department) ?? []), item]);
        bump(quarantinedFor, target.department);
        continue;
      }
      perTarget.get(target.department)!.push({ key, version: version.toString(), op: 'upsert', data: projected.value });
    }
  }

  let sequence = firstSequence;
  const sealed: SealedBatch[] = [];
  for (const target of targets) {
    const rows = ctx.envelopeFormat >= 4;
    const write = rows ? rowsBody(Object.keys(target.fields), flow.source.key) : objectsBody;
    const grant = (covers.get(target.department) as { grant: string | null }).grant;
    const records = perTarget.get(target.department)!;
    for (let i = 0; i < records.length; i += flow.source.batchSize) {
      for (const part of fitting(records.slice(i, i + flow.source.batchSize), write, ctx.messageMaxBytes / 2)) {
        sealed.push(await sealRecords(ctx, target, part.records, part.json, rows, sequence++, grant));
      }
    }
  }
  const ledger: LedgerEntry[] = [];
  const flowQuarantine = quarantine.filter((q) => q.to === undefined);
  // records the indicator set refused concern every target the batch is for: one, in a resync for one target
  if (flowQuarantine.length) ledger.push(quarantineEntry(flow.id, department, only?.size === 1 ? [...only][0] : undefined, flowQuarantine));
  for (const [to, items] of targetQuarantine) ledger.push(quarantineEntry(flow.id, department, to, items));
  for (const s of sealed) {
    ledger.push({
      kind: 'publish', flow: flow.id, messageId: s.meta.messageId, from: department, to: s.meta.to, count: s.meta.count,
      digest: String(s.headers['dxg-sha256']), keys: s.keys, detail: { sequence: s.meta.sequence, bytes: s.body.length, ...(s.meta.grant ? { grant: s.meta.grant } : {}) },
    });
  }
  const outbox = sealed.map((s) => outboxItem(s, ctx.topology.recordsExchange(department), ctx.topology.flowRoute(s.meta.to, flow.id)));
  return { quarantine, quarantinedRecords, quarantinedFor, filtered, withheld, sealed, outbox, ledger, nextSequence: sequence, versions };
}

/**
 * Rows of one page that share a key and a watermark value, by `key\nwatermark`, with how many: two
 * such rows claim to be the same version of one record, and choosing one of them would be arbitrary.
 */
function sameVersionTwice(records: Record<string, WireValue>[], keys: string[], watermark: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [i, data] of records.entries()) {
    const id = `${keys[i]}\n${String(data[watermark])}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const [id, n] of counts) if (n === 1) counts.delete(id);
  return counts;
}

/**
 * The batch as one body if its JSON holds at most `maxBytes` (bytes, as the target inflates it), else
 * as halves, each split again while too large; a single record goes alone whatever its size (the
 * target sets it aside as a dead letter, with the reason, if it is over the limit).
 */
function* fitting(records: WireRecord[], write: BodyWriter, maxBytes: number): Generator<{ records: WireRecord[]; json: Buffer }> {
  const json = Buffer.from(write(records));
  if (json.length <= maxBytes || records.length === 1) {
    yield { records, json };
    return;
  }
  const half = Math.ceil(records.length / 2);
  yield* fitting(records.slice(0, half), write, maxBytes);
  yield* fitting(records.slice(half), write, maxBytes);
}

/** `body`: a RowsPayload (`rows`) or a RecordsPayload. */
async function sealRecords(ctx: ExtractContext, target: FlowTarget, records: WireRecord[], body: Buffer, rows: boolean, sequence: number, grant: string | null): Promise<SealedBatch> {
  const { flow } = ctx.binding;
  const sealed = await sealJson(ctx.keyring, {
    kind: 'records', messageId: randomUUID(), flow: flow.id, resource: flow.resource,
    from: ctx.department, to: target.department, sequence, count: records.length, head: ctx.ledger.head,
    ...(grant ? { grant } : {}), ...(rows ? { layout: 'rows' as const } : {}),
  }, body);
  return { ...sealed, keys: records.map((r) => r.key) };
}

function quarantineEntry(flow: string, from: string, to: string | undefined, items: QuarantineItem[]): LedgerEntry {
  return {
    kind: 'quarantine', flow, from, to, count: items.length, keys: items.map((q) => q.recordKey ?? ''),
    detail: { reasons: summarize(items.map((q) => q.reason)) },
  };
}

/** Distinct reasons with their counts, most frequent first, at most ten. */
export function summarize(reasons: string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 10));
}
