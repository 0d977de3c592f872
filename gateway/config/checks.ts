import cron from 'node-cron';
import { WATERMARK_KINDS } from '../indicators/codec';
import type { IndicatorRegistry } from '../indicators/registry';
import type { ExchangeConfig, Flow } from './model';
import { closest, didYouMean } from './suggest';

/**
 * Checks that need more than one file: departments exist, indicators exist in the resource's
 * indicator set, keys and watermarks are mapped, cron expressions parse, flow ids are unique.
 * Problems are recorded on the flow's own document, at the offending place.
 */
export function checkFlows(config: ExchangeConfig, flows: Flow[], indicators: IndicatorRegistry): void {
  const seen = new Map<string, Flow>();
  for (const flow of flows) {
    const first = seen.get(flow.id);
    if (first) flow.doc.problem(['flow'], `flow id '${flow.id}' is already used by ${first.doc.at(['flow'])}`);
    else seen.set(flow.id, flow);
    checkFlow(config, flow, indicators);
  }
}

function checkFlow(config: ExchangeConfig, flow: Flow, indicators: IndicatorRegistry): void {
  const { doc, source } = flow;
  const departments = [...config.departments.keys()];
  const department = (path: (string | number)[], id: string) => {
    if (typeof id !== 'string' || config.departments.has(id)) return; // a missing one is a spec error already
    const hint = closest(id, departments);
    doc.problem(path, `department '${id}' is not in ${config.doc.display}${hint ? ` (did you mean '${hint}'?)` : `; known: ${departments.join(', ')}`}`);
  };
  department(['source', 'department'], source.department);

  for (const name of ['schedule', 'reconcile'] as const) {
    const expression = source[name];
    const parsed = typeof expression === 'string' ? cron.validateDetailed(expression) : { valid: true, errors: [] };
    if (!parsed.valid) {
      const why = parsed.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      doc.problem(['source', name], `source.${name}: invalid cron expression '${expression}'${why ? ` (${why})` : ''}`);
    }
  }

  if (typeof flow.resource !== 'string') return;
  const set = indicators.exists(flow.resource) ? indicators.get(flow.resource) : null;
  if (!indicators.exists(flow.resource)) {
    doc.problem(['resource'], indicators.missing(flow.resource));
  }
  const known = set ? Object.keys(set.properties) : [];
  const indicator = (path: (string | number)[], name: string, which: 'key' | 'value' = 'key') => {
    if (!set || set.has(name)) return true;
    doc.problem(path, `indicator '${name}' is not in ${flow.resource}${didYouMean(name, known)}`, 'error', which);
    return false;
  };

  for (const name of Object.keys(source.fields)) indicator(['source', 'fields', name], name);
  const keyIsList = Array.isArray((doc.value() as { source: { key: unknown } }).source.key);
  const keyPath = (i: number) => (keyIsList ? ['source', 'key', i] : ['source', 'key']);
  source.key.forEach((k, i) => {
    if (indicator(keyPath(i), k, 'value') && !(k in source.fields)) doc.problem(keyPath(i), `key indicator '${k}' is not mapped in source.fields`);
  });
  if (typeof source.watermark === 'string' && indicator(['source', 'watermark'], source.watermark, 'value')) {
    if (!(source.watermark in source.fields)) {
      doc.problem(['source', 'watermark'], `watermark indicator '${source.watermark}' is not mapped in source.fields`);
    } else if (set && !WATERMARK_KINDS.includes(set.kind(source.watermark))) {
      doc.problem(['source', 'watermark'], `watermark '${source.watermark}' must be a date-time, date or integer indicator in ${flow.resource}`);
    }
  }
  if (typeof source.softDelete === 'string' && indicator(['source', 'soft_delete'], source.softDelete, 'value')) {
    if (!(source.softDelete in source.fields)) doc.problem(['source', 'soft_delete'], `soft_delete indicator '${source.softDelete}' is not mapped in source.fields`);
    else if (set && !['boolean', 'integer', 'string'].includes(set.kind(source.softDelete))) {
      doc.problem(['source', 'soft_delete'], `soft_delete '${source.softDelete}' must be a boolean, integer or string indicator`);
    }
  }
  if (set) {
    const missing = set.required.filter((r) => !(r in source.fields));
    if (missing.length) doc.problem(['source', 'fields'], `indicators required by ${flow.resource} are not mapped at the source: ${missing.join(', ')}`, 'warning', 'key');
  }

  const targetDepartments = new Set<string>();
  for (const t of flow.targets) {
    const at = (...rest: (string | number)[]) => ['targets', t.index, ...rest];
    department(at('department'), t.department);
    if (t.department === source.department) doc.problem(at('department'), `target department '${t.department}' is the source department`);
    if (targetDepartments.has(t.department)) doc.problem(at('department'), `department '${t.department}' is a target of this flow twice; one target per department`);
    targetDepartments.add(t.department);
    for (const name of Object.keys(t.fields)) {
      if (indicator(at('fields', name), name) && !(name in source.fields)) {
        doc.problem(at('fields', name), `indicator '${name}' is not extracted at the source (map it in source.fields)`, 'error', 'key');
      }
    }
    if (t.mode === 'upsert') {
      for (const k of source.key) if (!(k in t.fields)) doc.problem(at('fields'), `key indicator '${k}' must be mapped for mode upsert`, 'error', 'key');
    }
    for (const name of Object.keys(t.where)) {
      if (indicator(at('where', name), name) && !(name in source.fields)) {
        doc.problem(at('where', name), `where uses '${name}', which is not extracted at the source`, 'error', 'key');
      }
    }
    if (Object.keys(t.where).length && !source.reconcile) {
      doc.problem(at('where'), `a record that stops matching this where stays at ${t.department} as it was last sent, until a key reconciliation removes it: give the flow a source.reconcile schedule`, 'warning', 'key');
    }
    if (t.onDelete === 'flag') {
      if (!source.softDelete) doc.problem(at('on_delete'), 'on_delete: flag needs source.soft_delete (the indicator to set)');
      else if (!(source.softDelete in t.fields)) doc.problem(at('on_delete'), `on_delete: flag needs the soft_delete indicator '${source.softDelete}' mapped in this target's fields`);
    }
    for (const name of Object.keys(t.codes)) {
      if (indicator(at('codes', name), name) && !(name in t.fields)) {
        doc.problem(at('codes', name), `codes for '${name}', which this target does not map`, 'error', 'key');
      }
    }
  }
}
