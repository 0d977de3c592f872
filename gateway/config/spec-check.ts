import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { PathSegment, SourceDocument } from './document';
import { closest } from './suggest';

/** One validator instance for every file-format spec (each instance costs its own set-up of the formats). */
let shared: Ajv | undefined;

/**
 * A checker that reports spec violations at their positions. The spec is compiled once, on the first
 * check: a command that reads no such file (`--help`, a project without a catalog) does not pay for it.
 */
export function specChecker(spec: object): (doc: SourceDocument, value: unknown) => void {
  let validate: ValidateFunction | undefined;
  return (doc, value) => {
    if (!validate) {
      shared ??= addFormats(new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true }));
      validate = shared.compile(spec);
    }
    if (validate(value)) return;
    for (const e of collapse(validate)) {
      const path = pointerToPath(e.instancePath);
      const where = displayPath(path);
      switch (e.keyword) {
        case 'required': {
          const name = (e.params as { missingProperty: string }).missingProperty;
          doc.problem(path, `${where ? where + ': ' : ''}missing required property '${name}'`);
          break;
        }
        case 'additionalProperties': {
          const name = (e.params as { additionalProperty: string }).additionalProperty;
          const known = Object.keys(schemaAt(e)?.properties ?? {});
          const hint = closest(name, known);
          doc.problem([...path, name], `unknown property '${name}'${where ? ` in ${where}` : ''}${hint ? ` (did you mean '${hint}'?)` : known.length ? `; expected one of: ${known.join(', ')}` : ''}`, 'error', 'key');
          break;
        }
        case 'enum':
          doc.problem(path, `${where}: must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`);
          break;
        default:
          doc.problem(path, `${where ? where + ': ' : ''}${e.message}`);
      }
    }
  };
}

/**
 * ajv reports every branch of an anyOf; a user wants one sentence per place. Keeps, per path,
 * unknown-property errors if any, else one merged "must be X or Y" for the branches.
 */
function collapse(validate: ValidateFunction): ErrorObject[] {
  const errors = validate.errors ?? [];
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const out: ErrorObject[] = [];
  for (const [path, list] of byPath) {
    const branchy = list.some((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    if (!branchy) {
      out.push(...list);
      continue;
    }
    const structural = list.filter((e) => e.keyword === 'additionalProperties' || e.keyword === 'required');
    if (structural.length) {
      out.push(...structural);
      continue;
    }
    // a deeper error under this path is more precise than the branch summary
    if (errors.some((e) => e.instancePath.startsWith(path + '/'))) continue;
    // the branch of the value's own type says what is wrong with it (a mapping with two operators), not the other branches' types
    const ofItsType = list.filter((e) => e.keyword === 'maxProperties' || e.keyword === 'minProperties');
    if (ofItsType.length) {
      out.push(...ofItsType.map((e) => {
        const limit = (e.params as { limit: number }).limit;
        return { ...e, message: `must have ${e.keyword === 'maxProperties' ? 'at most' : 'at least'} ${limit} ${limit === 1 ? 'entry' : 'entries'}` };
      }));
      continue;
    }
    const types = [...new Set(list.filter((e) => e.keyword === 'type').flatMap((e) => [(e.params as { type: string | string[] }).type].flat()))];
    const message = types.length ? `must be ${types.map(article).join(' or ')}` : (list.find((e) => e.keyword !== 'anyOf')?.message ?? 'is not valid');
    out.push({ ...list[0], keyword: 'merged', message });
  }
  return out;
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean', array: 'a list', object: 'a mapping', null: 'null',
  };
  return names[type] ?? type;
}

function schemaAt(e: ErrorObject): { properties?: Record<string, unknown> } | undefined {
  return e.parentSchema as { properties?: Record<string, unknown> } | undefined;
}

export function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(seg) ? Number(seg) : seg;
  });
}

export function displayPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
