import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SourceDocument } from '../config/document';
import { displayPath, pointerToPath } from '../config/spec-check';
import { customFormats } from './formats';
import { Kind, kindOf } from './codec';
import { didYouMean } from '../config/suggest';

export interface RecordCheck {
  (record: Record<string, unknown>): string[];
}

/**
 * One indicator set (a resource): the JSON Schema of a record, compiled once per view. A view is the
 * set of indicators one side of a flow handles; `required` applies to the indicators in the view.
 */
export class IndicatorSet {
  readonly kinds = new Map<string, Kind>();
  private readonly views = new Map<string, RecordCheck>();

  constructor(
    readonly resource: string,
    readonly doc: SourceDocument,
    private readonly schema: Record<string, unknown>,
    private readonly ajv: Ajv,
  ) {
    for (const [name, prop] of Object.entries(this.properties)) this.kinds.set(name, kindOf(prop as object));
  }

  get properties(): Record<string, unknown> {
    return (this.schema.properties ?? {}) as Record<string, unknown>;
  }

  get required(): string[] {
    return (this.schema.required ?? []) as string[];
  }

  has(indicator: string): boolean {
    return Object.hasOwn(this.properties, indicator);
  }

  kind(indicator: string): Kind {
    return this.kinds.get(indicator) ?? 'any';
  }

  /** A checker for records carrying exactly these indicators; the reasons name the indicator at fault. */
  view(indicators: readonly string[]): RecordCheck {
    const key = [...indicators].sort().join('\u0000');
    let check = this.views.get(key);
    if (!check) {
      const properties = Object.fromEntries(indicators.map((i) => [i, this.properties[i] ?? {}]));
      const { properties: _all, required: _req, $id: _id, ...rest } = this.schema;
      const validate = this.ajv.compile({
        ...rest,
        properties,
        required: this.required.filter((r) => indicators.includes(r)),
        additionalProperties: false,
      });
      check = (record) => (validate(record) ? [] : reasons(validate, record));
      this.views.set(key, check);
    }
    return check;
  }
}

function reasons(validate: ValidateFunction, record: Record<string, unknown>): string[] {
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const path = displayPath(pointerToPath(e.instancePath));
    // the type it has, never the value: reasons reach logs, and values may be personal data
    if (e.keyword === 'type') return `${path || 'record'}: ${e.message} (is ${typeName(valueAt(record, pointerToPath(e.instancePath)))})`;
    if (e.keyword === 'required') return `${(e.params as { missingProperty: string }).missingProperty}: is required`;
    if (e.keyword === 'additionalProperties') return `${(e.params as { additionalProperty: string }).additionalProperty}: is not granted to this side of the flow`;
    if (e.keyword === 'enum') return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    return `${path || 'record'}: ${e.message}`;
  });
}

function valueAt(record: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, seg) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined), record);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Loads indicator sets from a folder on demand and keeps them compiled. */
export class IndicatorRegistry {
  /** JSON Schema 2020-12, the default; draft-07 too, for sets written against it */
  private readonly ajvs = new Map<string | undefined, Ajv>();
  private readonly sets = new Map<string, IndicatorSet | null>();

  constructor(readonly dir: string) {
    const options = { allErrors: true, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true } as const;
    const latest = withFormats(new Ajv2020(options));
    const draft7 = withFormats(new Ajv(options));
    for (const id of [undefined, 'https://json-schema.org/draft/2020-12/schema']) this.ajvs.set(id, latest);
    for (const id of ['http://json-schema.org/draft-07/schema#', 'http://json-schema.org/draft-07/schema']) this.ajvs.set(id, draft7);
  }

  fileOf(resource: string): string {
    return join(this.dir, `${resource}.json`);
  }

  exists(resource: string): boolean {
    return existsSync(this.fileOf(resource));
  }

  /** Why a resource has no indicator set: the file expected, and the set of a like name if there is one. */
  missing(resource: string): string {
    const sets = existsSync(this.dir) ? readdirSync(this.dir).filter((f) => f.endsWith('.json') && !f.startsWith('dxg-')).map((f) => f.slice(0, -5)) : [];
    return `indicator set '${resource}' not found: expected ${this.fileOf(resource)}${didYouMean(resource, sets)}`;
  }

  /** The indicator set, or null with its problems recorded in `load(...).doc.problems`. */
  get(resource: string): IndicatorSet | null {
    if (!this.sets.has(resource)) this.sets.set(resource, this.load(resource));
    return this.sets.get(resource) ?? null;
  }

  /** Reads and checks one schema file; problems end up on the returned document. */
  load(resource: string): IndicatorSet | null {
    const doc = SourceDocument.read(this.fileOf(resource));
    this.documents.set(resource, doc);
    if (!doc.ok) return null;
    const schema = doc.value() as Record<string, unknown>;
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
      doc.problem([], 'an indicator set must be a JSON Schema object');
      return null;
    }
    const ajv = this.ajvs.get(schema.$schema as string | undefined);
    if (!ajv) {
      doc.problem(['$schema'], 'indicator sets use JSON Schema 2020-12 ("$schema": "https://json-schema.org/draft/2020-12/schema") or draft-07');
      return null;
    }
    if (schema.type !== 'object' || typeof schema.properties !== 'object') {
      doc.problem(schema.type !== 'object' ? ['type'] : [], 'an indicator set must have "type": "object" and "properties" (one per indicator)');
      return null;
    }
    if (!ajv.validateSchema(schema)) {
      for (const e of ajv.errors ?? []) doc.problem(pointerToPath(e.instancePath), `${displayPath(pointerToPath(e.instancePath)) || 'schema'}: ${e.message}`);
      return null;
    }
    try {
      const { $id: _id, ...body } = schema;
      ajv.compile(body);
    } catch (err) {
      const message = (err as Error).message;
      const badPattern = locatePattern(schema);
      const token = /"([^"]+)"/.exec(message)?.[1];
      doc.problem(badPattern ?? (token ? locateToken(doc, schema, token) : []), message.replace(/^strict mode: /, ''));
      return null;
    }
    return new IndicatorSet(resource, doc, schema, ajv);
  }

  readonly documents = new Map<string, SourceDocument>();
}

function withFormats(ajv: Ajv): Ajv {
  addFormats(ajv);
  for (const [name, check] of Object.entries(customFormats)) ajv.addFormat(name, check);
  return ajv;
}

/** Path of the first key or value equal to a token (ajv's compile errors name a keyword or format, not a place). */
function locateToken(doc: SourceDocument, value: unknown, token: string, path: (string | number)[] = []): (string | number)[] {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, Array.isArray(value) ? Number(k) : k];
      if (k === token || v === token) return p;
      const found = locateToken(doc, v, token, p);
      if (found.length) return found;
    }
  }
  return [];
}

/**
 * Path of the first `pattern` (or `patternProperties` key) that is no valid regular expression: ajv
 * reports one without saying where it is. Patterns are compiled as ajv compiles them (unicode flag).
 */
function locatePattern(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (!value || typeof value !== 'object') return null;
  const invalid = (text: unknown) => {
    try {
      new RegExp(String(text), 'u');
      return false;
    } catch {
      return true;
    }
  };
  for (const [k, v] of Object.entries(value)) {
    const p = [...path, Array.isArray(value) ? Number(k) : k];
    if (k === 'pattern' && typeof v === 'string' && invalid(v)) return p;
    if (k === 'patternProperties' && v && typeof v === 'object') {
      const key = Object.keys(v).find(invalid);
      if (key !== undefined) return [...p, key];
    }
    const found = locatePattern(v, p);
    if (found) return found;
  }
  return null;
}
