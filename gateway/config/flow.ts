import { SourceDocument } from './document';
import { flowSpec } from './flow.spec';
import type { Flow, FlowTarget } from './model';
import { specChecker } from './spec-check';

const checkSpec = specChecker(flowSpec);

interface RawTarget {
  department: string;
  table: string;
  mode: 'upsert' | 'insert';
  on_delete: 'delete' | 'flag';
  fields: Record<string, string>;
  where?: FlowTarget['where'];
  codes?: FlowTarget['codes'];
}

interface RawFlow {
  flow: string;
  title?: string;
  resource: string;
  source: {
    department: string;
    table?: string;
    query?: string;
    key: string | string[];
    watermark: string;
    schedule: string;
    fields: Record<string, string>;
    page_size: number;
    batch_size: number;
    soft_delete?: string;
    reconcile?: string;
    notify: boolean;
  };
  targets: RawTarget[];
}

/**
 * Reads one flow file. The flow comes back whenever its shape allows, so the cross-file checks can
 * report their problems too; whether it is usable is `doc.ok`.
 */
export function loadFlow(file: string, env: NodeJS.ProcessEnv = process.env): { doc: SourceDocument; flow: Flow | null } {
  const doc = SourceDocument.read(file);
  if (!doc.ok) return { doc, flow: null };
  doc.interpolate(env);
  const raw = doc.value() as RawFlow;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    doc.problem([], 'a flow file must be a mapping (flow:, resource:, source:, targets:)');
    return { doc, flow: null };
  }
  checkSpec(doc, raw);
  const s = raw.source;
  if (!isMap(s) || !isMap(s.fields)) return { doc, flow: null };
  // a target the spec refused (or a misspelt targets:) leaves the others, and the source, to be checked against the other files
  if ((s.table === undefined) === (s.query === undefined)) {
    doc.problem(['source'], 'source: give exactly one of table or query');
  }
  const flow: Flow = {
    id: raw.flow,
    title: raw.title ?? raw.flow,
    resource: raw.resource,
    doc,
    source: {
      department: s.department,
      table: s.table,
      query: s.query?.trim().replace(/;\s*$/, ''),
      key: [s.key].flat().filter((k): k is string => typeof k === 'string'),
      watermark: s.watermark,
      schedule: s.schedule,
      fields: s.fields,
      pageSize: s.page_size,
      batchSize: s.batch_size,
      softDelete: s.soft_delete,
      reconcile: s.reconcile,
      notify: s.notify,
    },
    targets: (Array.isArray(raw.targets) ? raw.targets : []).flatMap((t, index) => (!isMap(t) || !isMap(t.fields) ? [] : [{
      index,
      department: t.department,
      table: t.table,
      mode: t.mode,
      onDelete: t.on_delete,
      fields: t.fields,
      where: isMap(t.where) ? t.where : {},
      codes: isMap(t.codes) ? t.codes : {},
    }])),
  };
  return { doc, flow };
}

const isMap = (v: unknown): v is Record<string, never> => typeof v === 'object' && v !== null && !Array.isArray(v);
