import { randomUUID } from 'node:crypto';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { CheckpointConflict } from '../bookkeeping/checkpoint';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Flow } from '../config/model';
import { seal, type EnvelopeMeta } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import type { Ledger } from '../ledger/ledger';
import { log } from '../log';
import { now } from '../time';
import type { DeadLetters, Raw } from './dead-letters';
import { fullCheckpoint, type Extractor } from './extract';

/** A restored target's request that a flow's source send it the whole flow again. */
interface ResyncPayload {
  reason: string;
  /** the `restored` entry of the target's ledger that declared the restore */
  restoredAt: string;
}

/**
 * A target restored from a backup has lost what it applied after the backup, and its inbox with it;
 * only its sources can give it back. `dxg init --restored` has the target ask each flow's source,
 * in a signed `resync` request; the source answers with a full resync for that target alone, with
 * a checkpoint of its own (so an interrupted one resumes after a restart) that is written in the
 * transaction that records the request. The target's version guard keeps what it still holds from
 * being applied twice.
 */
export class Resyncer {
  constructor(
    private readonly department: string,
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly flows: ReadonlyMap<string, Flow>,
    private readonly extractors: ReadonlyMap<string, Extractor>,
    private readonly deadLetters: DeadLetters,
  ) {}

  private readonly abort = new AbortController();

  /** Stops the resyncs running after their page in hand; they resume at the next start. */
  stop(): void {
    this.abort.abort();
  }

  /** Source side: why the receipts queue does not take this request, on its signed headers alone. */
  admits(meta: EnvelopeMeta): string | null {
    const flow = this.flows.get(meta.flow);
    return meta.to !== this.department ? `resync request addressed to '${meta.to}', not '${this.department}'`
      : !flow || flow.source.department !== this.department || !this.extractors.has(flow.id) ? `resync request for flow '${meta.flow}', which '${this.department}' does not send`
      : !flow.targets.some((t) => t.department === meta.from) ? `resync request from '${meta.from}', which is not a target of flow '${meta.flow}'`
      : null;
  }

  /** Source side: records the request with a fresh checkpoint for the target, then resyncs it in the background. */
  async handle(meta: EnvelopeMeta, payload: unknown, raw: Raw, signal: AbortSignal): Promise<void> {
    const p = payload as ResyncPayload;
    if (!p || typeof p.reason !== 'string') return this.deadLetters.store(meta, raw, 'resync request body is malformed', signal);
    log.info('target restored from a backup: sending it the whole flow again', { flow: meta.flow, target: meta.from });
    await this.resyncTarget(meta.flow, meta.from, { reason: p.reason, restoredAt: p.restoredAt, request: meta.messageId });
  }

  /**
   * Source side: the whole flow again for one target (one restored from a backup, one granted the
   * resource), recorded in the ledger with why, from a fresh checkpoint of its own, in the background.
   */
  async resyncTarget(flowId: string, target: string, why: { reason: string } & Record<string, unknown>): Promise<void> {
    const checkpoint = fullCheckpoint(flowId, target);
    await this.db.transaction(async (tx) => {
      // from the start again, also when a resync for this target was under way (it was restored once more)
      const reset = await tx.execute(sql`UPDATE dxg_checkpoint SET position = ${null}, next_sequence = ${1}, updated_at = ${now()} WHERE flow = ${checkpoint}`);
      if (reset === 0) await tx.execute(sql`INSERT INTO dxg_checkpoint (position, next_sequence, updated_at, flow) VALUES (${null}, ${1}, ${now()}, ${checkpoint})`);
      await this.ledger.append(tx, [{ kind: 'replay', flow: flowId, from: this.department, to: target, count: 0, detail: { stage: 'resync', ...why } }]);
    });
    this.start(flowId, target);
  }

  /** Source side, at start: resumes the resyncs for single targets that a stop interrupted. */
  async resume(): Promise<void> {
    for (const flow of this.extractors.keys()) {
      const prefix = fullCheckpoint(flow, '');
      const rows = await this.db.query<{ flow: string }>(sql`SELECT flow FROM dxg_checkpoint WHERE flow LIKE ${`${prefix}%`}`);
      // LIKE's `_` matches any character, and flow ids may hold one
      for (const r of rows.filter((row) => row.flow.startsWith(prefix))) this.start(flow, r.flow.slice(prefix.length));
    }
  }

  private start(flowId: string, target: string): void {
    const extractor = this.extractors.get(flowId)!;
    if (this.abort.signal.aborted) return;
    void extractor.cycle({ full: true, only: target, signal: this.abort.signal }).then(
      (stats) => log.info(this.abort.signal.aborted ? 'resync for one target interrupted; it resumes at the next start' : 'resync for one target done', { flow: flowId, target, records: stats.extracted }),
      (err) => {
        // a newer request reset the checkpoint under this run: that request's run starts over
        if (err instanceof CheckpointConflict) return this.start(flowId, target);
        log.error('resync for one target failed; it resumes at the next start', { flow: flowId, target, error: errorMessage(err) });
      },
    );
  }
}

/** Target side (dxg init --restored): asks the source of every flow this department receives for a resync. */
export async function requestResyncs(
  department: string, flows: readonly Flow[], restoredAt: string, keyring: Keyring, ledger: Ledger, topology: Topology, publisher: Publisher,
): Promise<Array<{ flow: string; source: string }>> {
  const asked: Array<{ flow: string; source: string }> = [];
  for (const flow of flows.filter((f) => f.targets.some((t) => t.department === department))) {
    const source = flow.source.department;
    const payload: ResyncPayload = { reason: 'database restored from a backup (dxg init --restored)', restoredAt };
    const sealed = await seal(keyring, { kind: 'resync', messageId: randomUUID(), flow: flow.id, resource: flow.resource, from: department, to: source, sequence: 0, count: 0, head: ledger.head }, payload);
    await publisher.publish(topology.receiptsExchange(department), source, sealed.body, { messageId: sealed.meta.messageId, headers: sealed.headers, contentEncoding: sealed.contentEncoding });
    asked.push({ flow: flow.id, source });
  }
  return asked;
}
