import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Project } from '../config/project';
import { maskText } from '../mask';

export interface SetAside {
  department: string;
  flow: string;
  /** how many records were set aside for this kind of reason */
  count: number;
  /** the first of them */
  key: string;
  reason: string;
}

/**
 * Each distinct kind of reason records were set aside for — at the source (quarantine) or at a target
 * (rejected) — with the first record and how many, from the departments' dxg_quarantine tables.
 */
export async function firstReasons(project: Project, dbs: Map<string, Database>, stage: 'source' | 'target'): Promise<SetAside[]> {
  const out: SetAside[] = [];
  for (const [department, db] of dbs) {
    const rows = await db.query<{ flow: string; record_key: string | null; reason: string }>(
      sql`SELECT flow, record_key, reason FROM dxg_quarantine WHERE stage = ${stage} ORDER BY id`);
    // a record set aside again (by a full resync, a replay) is one record: counted by its key
    const kinds = new Map<string, SetAside & { keys: Set<string> }>();
    for (const r of rows) {
      const kind = `${r.flow}\n${reasonKind(r.reason)}`;
      const seen = kinds.get(kind);
      if (seen) seen.keys.add(r.record_key ?? '');
      else kinds.set(kind, { department, flow: r.flow, count: 0, keys: new Set([r.record_key ?? '']), key: shownKey(project, r.flow, r.record_key ?? ''), reason: r.reason });
    }
    out.push(...[...kinds.values()].map(({ keys, ...k }) => ({ ...k, count: keys.size })));
  }
  return out;
}

/** Reasons that differ only in the value quoted (a column's row number, a too-long value) count as one. */
function reasonKind(reason: string): string {
  return reason.replace(/'[^']*'|"[^"]*"|\d+/g, '…');
}

/** Identity numbers are masked on the terminal as in the logs; the ledger keeps them whole for auditors. */
function shownKey(project: Project, flowId: string, key: string): string {
  const flow = project.flows.find((f) => f.id === flowId);
  const set = flow && project.indicators.get(flow.resource);
  const personal = flow?.source.key.some((k) => (set?.properties[k] as { format?: string } | undefined)?.format === 'cn-id-number');
  return personal ? maskText(key) : key;
}
