import { randomUUID } from 'node:crypto';
import type { Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { outboxItem, putOutbox, type OutboxItem } from '../bookkeeping/outbox';
import type { FlowTarget } from '../config/model';
import { seal, type EnvelopeMeta } from '../envelope/envelope';
import { toWire, versionOf, type WireValue } from '../indicators/codec';
import type { LedgerEntry } from '../ledger/ledger';
import type { Applied } from './apply';
import type { TargetBinding } from './binding';
import { applyDeletes } from './deletes';
import type { ExtractContext } from './extract';
import { isDeleted, keyText } from './records';
import { matches } from './where';

/** One part of a reconciliation's key set for one target; the last part closes the run. */
export interface KeysetPayload {
  run: string;
  part: number;
  last: boolean;
  /** with the last part: records older than this version whose key was not listed are gone at the source */
  below?: string;
  keys: string[];
}

const PART = 5000;

/**
 * Hard deletes are invisible to polling. A reconciliation walks the source table in key order and
 * sends each target (that deletes) the keys it should hold, in parts; the target stages them and, at
 * the last part, deletes what it holds from this flow, older than the walk's start, and not listed.
 * Records written after the walk began are never touched, whatever their key.
 */
export class Reconciler {
  private running: Promise<unknown> | null = null;

  constructor(private readonly ctx: ExtractContext) {}

  /** Sends one reconciliation; returns the ids of the closing parts (their receipts report the deletes). */
  run(signal?: AbortSignal): Promise<{ run: string; keys: Map<string, number>; closing: string[] }> {
    const run = this.walk(signal);
    const settled = run.then(() => undefined, () => undefined);
    this.running = settled;
    void settled.then(() => {
      if (this.running === settled) this.running = null;
    });
    return run;
  }

  /** Resolves when no reconciliation is running (for a drain: an aborted one stops at its next part). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async walk(signal?: AbortSignal): Promise<{ run: string; keys: Map<string, number>; closing: string[] }> {
    const { db, binding } = this.ctx;
    const { flow, set } = binding;
    // a target without a grant is sent no key set either: it holds nothing it may check against
    const targets = flow.targets.filter((t) => t.mode === 'upsert' && this.ctx.governance.cover(flow, t).ok);
    const run = randomUUID();
    const keys = new Map(targets.map((t) => [t.department, 0]));
    if (targets.length === 0) return { run, keys, closing: [] };
    const horizon = await db.changes.horizon(binding.change, binding.watermarkColumn);
    const below = versionOf(set.kind(flow.source.watermark), toWire(set.kind(flow.source.watermark), horizon)).toString();
    const indicators = [...new Set([...flow.source.key, ...targets.flatMap((t) => Object.keys(t.where)), ...(flow.source.softDelete ? [flow.source.softDelete] : [])])];
    const columns = [...new Set(indicators.map((i) => flow.source.fields[i]))];
    const buffers = new Map<string, string[]>(targets.map((t) => [t.department, []]));
    const parts = new Map<string, number>(targets.map((t) => [t.department, 0]));
    let afterKey: unknown[] | null = null;
    for (;;) {
      if (signal?.aborted) return { run, keys, closing: [] }; // the targets drop a run that never closes
      const rows = await db.changes.scanKeys(binding.change, columns, afterKey, PART);
      for (const row of rows) {
        const data: Record<string, WireValue> = {};
        for (const i of indicators) data[i] = toWire(set.kind(i), row[flow.source.fields[i]]);
        const deleted = flow.source.softDelete !== undefined && isDeleted(data[flow.source.softDelete]);
        const key = keyText(flow.source.key.map((k) => data[k]));
        // a target that flags holds its soft-deleted records (their own change sets the flag, with the
        // fields it carries); only one that deletes should not hold them
        for (const t of targets) if (matches(t.where, data) && !(deleted && t.onDelete === 'delete')) buffers.get(t.department)!.push(key);
      }
      for (const t of targets) {
        while (buffers.get(t.department)!.length >= PART) await this.send(t, run, parts, buffers.get(t.department)!.splice(0, PART), keys);
      }
      if (rows.length < PART) break;
      const last = rows[rows.length - 1];
      afterKey = binding.change.key.map((c) => last[c]);
    }
    const closing: string[] = [];
    for (const t of targets) closing.push(await this.send(t, run, parts, buffers.get(t.department)!.splice(0), keys, below));
    return { run, keys, closing };
  }

  private async send(target: FlowTarget, run: string, parts: Map<string, number>, keys: string[], counts: Map<string, number>, below?: string): Promise<string> {
    const { flow } = this.ctx.binding;
    const part = parts.get(target.department)!;
    parts.set(target.department, part + 1);
    counts.set(target.department, counts.get(target.department)! + keys.length);
    const payload: KeysetPayload = { run, part, last: below !== undefined, below, keys };
    const sealed = await seal(this.ctx.keyring, {
      kind: 'reconcile', messageId: randomUUID(), flow: flow.id, resource: flow.resource,
      from: this.ctx.department, to: target.department, sequence: part, count: keys.length, head: this.ctx.ledger.head,
    }, payload);
    const item: OutboxItem = outboxItem(sealed, this.ctx.topology.recordsExchange(this.ctx.department), this.ctx.topology.flowRoute(target.department, flow.id));
    const entry: LedgerEntry = {
      kind: 'reconcile', flow: flow.id, messageId: sealed.meta.messageId, from: this.ctx.department, to: target.department,
      count: keys.length, detail: { run, part, last: payload.last, below },
    };
    await this.ctx.db.transaction(async (tx) => {
      await putOutbox(tx, [item]);
      await this.ctx.ledger.append(tx, [entry]);
    });
    await this.ctx.relay.enqueue([item]);
    return sealed.meta.messageId;
  }
}

/** Why a key-set body cannot be used, or null if it can. */
export function keysetProblem(payload: unknown, count: number): string | null {
  const p = payload as KeysetPayload | null;
  if (!p || typeof p.run !== 'string' || !/^[0-9a-f-]{36}$/.test(p.run)) return 'key set has no valid run id';
  if (!Number.isSafeInteger(p.part) || p.part < 0 || typeof p.last !== 'boolean') return 'key set has no valid part number';
  if (p.last && (typeof p.below !== 'string' || !/^-?\d+$/.test(p.below))) return 'the last part of a key set has no valid version bound';
  if (!Array.isArray(p.keys) || !p.keys.every((k) => typeof k === 'string')) return 'key set has no list of keys';
  if (p.keys.length !== count) return `key set holds ${p.keys.length} keys but the signed header says ${count}`;
  return null;
}

/**
 * Target side: stages a part's keys; with the last part, deletes the records this flow brought here
 * that are older than the walk and were not listed, then clears the stage.
 */
export async function applyKeyset(tx: Tx, binding: TargetBinding, meta: EnvelopeMeta, p: KeysetPayload): Promise<Applied> {
  const flow = binding.flow.id;
  if (p.part === 0) await tx.execute(sql`DELETE FROM dxg_reconcile WHERE flow = ${flow} AND run_id <> ${p.run}`);
  await inChunks(p.keys, 500, async (chunk) => {
    await tx.execute(sql`INSERT INTO dxg_reconcile (flow, run_id, record_key) VALUES ${sql.join(chunk.map((k) => sql.list([flow, p.run, k])))}`);
  });
  const entries: LedgerEntry[] = [{ kind: 'reconcile', flow, messageId: meta.messageId, from: meta.from, to: meta.to, count: p.keys.length, detail: { run: p.run, part: p.part, last: p.last } }];
  if (!p.last) return { entries, rejects: [] };

  for (const table of ['dxg_reconcile', 'dxg_versions']) {
    const analyze = tx.sql.analyze(table);
    if (analyze) await tx.execute(analyze);
  }
  const gone = await tx.query<{ record_key: string }>(
    sql`SELECT v.record_key FROM dxg_versions v WHERE v.flow = ${flow} AND v.deleted = ${false} AND v.version < ${p.below}
       AND NOT EXISTS (SELECT 1 FROM dxg_reconcile r WHERE r.flow = v.flow AND r.run_id = ${p.run} AND r.record_key = v.record_key)`,
  );
  const keyCount = binding.flow.source.key.length;
  const deletes = gone
    .filter((g) => !g.record_key.startsWith('sha256:')) // a hashed key has no values to find the row by
    .map((g) => ({ key: g.record_key, version: BigInt(p.below!), keyValues: keyCount === 1 ? [g.record_key] : (JSON.parse(g.record_key) as unknown[]) }));
  const removed = await applyDeletes(tx, binding, deletes);
  await tx.execute(sql`DELETE FROM dxg_reconcile WHERE flow = ${flow} AND run_id = ${p.run}`);
  if (deletes.length) {
    entries.push({
      kind: 'delete', flow, messageId: meta.messageId, from: meta.from, to: meta.to, count: deletes.length, keys: deletes.map((d) => d.key),
      detail: { reason: 'not in the key set the source sent for this target: deleted at the source, or no longer within the flow\'s where', run: p.run, rows: removed.removed },
    });
  }
  return { entries, rejects: [], receipt: { kind: 'reconcile', applied: deletes.length, superseded: removed.superseded.length, rejected: 0, rejects: [] } };
}
