import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem } from '../../gateway/config/problems';
import { loadProject } from '../../gateway/config/project';
import { ROOT } from '../helpers/exchange';

/** The warning every flow below draws (a where, no source.reconcile): checked on its own, left out of the others. */
const RECONCILE_WARNING = /warning: a record that stops matching this where/;

/** Writes an exchange with the given files and returns `dxg validate`'s problems as text lines. */
function validate(files: Record<string, string>, env: NodeJS.ProcessEnv = {}, all = false): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'dxg-validate-'));
  mkdirSync(join(dir, 'flows'));
  mkdirSync(join(dir, 'schemas'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const { problems } = loadProject(join(dir, 'exchange.yaml'), env);
  // paths are shown relative to the working directory; make them relative to the exchange here
  return problems.map((p) => formatProblem(p).replace(/[^\s']*dxg-validate-[^/]+\//g, '')).filter((p) => all || !RECONCILE_WARNING.test(p));
}

const EXCHANGE = `exchange: test
broker:
  url: amqp://guest:guest@127.0.0.1:5672
departments:
  amr:
    database: { driver: postgres, url: "postgres://postgres@127.0.0.1/amr" }
  tax:
    database: { driver: mysql, url: "mysql://root@127.0.0.1/tax" }
flows: flows
schemas: ${join(ROOT, 'schemas')}
keys: keys
`;

const FLOW = `flow: ent
resource: enterprise.basic
source:
  department: amr
  table: ent_registry
  key: [uscc]
  watermark: updated_at
  fields:
    uscc: credit_code
    name: ent_name
    status: status_code
    updated_at: updated_at
targets:
  - department: tax
    table: tax_taxpayer
    fields: { uscc: nsrsbh, name: nsrmc, status: zt }
    where: { status: { in: ["1", "2"] } }
    codes: { status: { "1": "存续", "2": "在业" } }
`;

describe('dxg validate', () => {
  it('accepts a correct exchange', () => {
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': FLOW })).toEqual([]);
  });

  it('warns of a where without a key reconciliation: a record that stops matching it would stay at the target (found by a tester)', () => {
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': FLOW }, {}, true)).toEqual([
      'flows/ent.yaml:17:5: warning: a record that stops matching this where stays at tax as it was last sent, until a key reconciliation removes it: give the flow a source.reconcile schedule',
    ]);
    const reconciled = FLOW.replace('  watermark: updated_at\n', '  watermark: updated_at\n  reconcile: "0 30 2 * * *"\n');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': reconciled }, {}, true)).toEqual([]);
  });

  it('reports a YAML syntax error where it is', () => {
    const broken = FLOW.replace('    fields: { uscc: nsrsbh, name: nsrmc, status: zt }', '    fields: { uscc: nsrsbh, name: nsrmc, status: zt');
    const problems = validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^flows\/ent\.yaml:1[67]:\d+: /);
  });

  it('reports a duplicated key at the duplicate', () => {
    const broken = FLOW.replace('  table: ent_registry\n', '  table: ent_registry\n  table: other\n');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual(['flows/ent.yaml:6:3: Map keys must be unique']);
  });

  it('points at an unknown property and suggests the right one', () => {
    const broken = FLOW.replace('  table: ent_registry', '  tabel: ent_registry');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual([
      'flows/ent.yaml:4:3: source: give exactly one of table or query',
      "flows/ent.yaml:5:3: unknown property 'tabel' in source (did you mean 'table'?)",
    ]);
  });

  it('checks the rest of a flow against the other files when its targets are misspelt or one target is malformed', () => {
    const misspelt = FLOW.replace('targets:', 'targetz:').replace('  department: amr', '  department: amx');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': misspelt })).toEqual([
      "flows/ent.yaml:1:1: missing required property 'targets'",
      "flows/ent.yaml:4:15: department 'amx' is not in exchange.yaml (did you mean 'amr'?)",
      "flows/ent.yaml:13:1: unknown property 'targetz' (did you mean 'targets'?)",
    ]);
    const second = `${FLOW}  - department: amr
    table: x
    fieldz: { uscc: a }
`;
    const problems = validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': second.replace('  - department: tax', '  - department: taxx') });
    expect(problems).toContainEqual("flows/ent.yaml:14:17: department 'taxx' is not in exchange.yaml (did you mean 'tax'?)");
    expect(problems).toContainEqual("flows/ent.yaml:21:5: unknown property 'fieldz' in targets[1] (did you mean 'fields'?)");
  });

  it('points at an indicator that is not in the indicator set', () => {
    const broken = FLOW.replace('    name: ent_name', '    nmae: ent_name');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual([
      'flows/ent.yaml:8:3: warning: indicators required by enterprise.basic are not mapped at the source: name',
      "flows/ent.yaml:10:5: indicator 'nmae' is not in enterprise.basic (did you mean 'name'?)",
      "flows/ent.yaml:16:29: indicator 'name' is not extracted at the source (map it in source.fields)",
    ]);
  });

  it('points at an indicator set that does not exist and names the one of a like name', () => {
    const problems = validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': FLOW.replace('resource: enterprise.basic', 'resource: enterprise-basic') });
    expect(problems).toContainEqual(expect.stringMatching(/^flows\/ent\.yaml:2:11: indicator set 'enterprise-basic' not found: expected \S*enterprise-basic\.json \(did you mean 'enterprise\.basic'\?\)$/));
  });

  it('points at an unknown department, an invalid cron expression and a bad enum value', () => {
    const broken = FLOW.replace('  - department: tax', '  - department: taxx')
      .replace('  watermark: updated_at', '  watermark: updated_at\n  schedule: "70 * * * * *"')
      .replace('    table: tax_taxpayer', '    table: tax_taxpayer\n    mode: merge');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual([
      expect.stringMatching(/^flows\/ent\.yaml:8:13: source\.schedule: invalid cron expression '70 \* \* \* \* \*'/),
      "flows/ent.yaml:15:17: department 'taxx' is not in exchange.yaml (did you mean 'tax'?)",
      'flows/ent.yaml:17:11: targets[0].mode: must be one of: upsert, insert',
    ]);
  });

  it('requires the key and the watermark to be mapped at the source and the key at an upsert target', () => {
    const broken = FLOW.replace('    updated_at: updated_at\n', '').replace('{ uscc: nsrsbh, name: nsrmc, status: zt }', '{ name: nsrmc, status: zt }');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual([
      "flows/ent.yaml:7:14: watermark indicator 'updated_at' is not mapped in source.fields",
      "flows/ent.yaml:8:3: warning: indicators required by enterprise.basic are not mapped at the source: updated_at",
      "flows/ent.yaml:15:5: key indicator 'uscc' must be mapped for mode upsert",
    ]);
  });

  it('reports a flow id used twice at the second one', () => {
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/a.yaml': FLOW, 'flows/b.yaml': FLOW })).toEqual([
      "flows/b.yaml:1:7: flow id 'ent' is already used by flows/a.yaml:1:7",
    ]);
  });

  it('reports an unknown where operator and a where/codes indicator the flow does not carry', () => {
    const broken = FLOW.replace('where: { status: { in: ["1", "2"] } }', 'where: { status: { like: "1" }, region: "110000" }')
      .replace('codes: { status:', 'codes: { name: { a: b }, status:');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': broken })).toEqual([
      "flows/ent.yaml:17:24: unknown property 'like' in targets[0].where.status; expected one of: in, not_in, ne, gt, gte, lt, lte, is_null",
      "flows/ent.yaml:17:37: where uses 'region', which is not extracted at the source",
    ]);
    // two operators for one indicator: said of the mapping, not as 'must be a string or a number …'
    const two = FLOW.replace('where: { status: { in: ["1", "2"] } }', 'where: { status: { in: ["1", "2"], ne: "3" } }');
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': two })).toEqual(['flows/ent.yaml:17:22: targets[0].where.status: must have at most 1 entry']);
  });

  it('reports an unset environment variable without a default, and a wrong type, in the exchange file', () => {
    const broken = EXCHANGE.replace('"mysql://root@127.0.0.1/tax"', '"${TAX_DB_URL}"').replace('  url: amqp', '  prefetch: many\n  url: amqp');
    expect(validate({ 'exchange.yaml': broken, 'flows/ent.yaml': FLOW })).toEqual([
      'exchange.yaml:3:13: broker.prefetch: must be integer',
      'exchange.yaml:9:37: environment variable TAX_DB_URL is not set and has no default (write ${TAX_DB_URL:-default} to give one)',
    ]);
    expect(validate({ 'exchange.yaml': broken.replace('  prefetch: many\n', ''), 'flows/ent.yaml': FLOW }, { TAX_DB_URL: 'mysql://root@127.0.0.1/tax' })).toEqual([]);
  });

  it('reports problems inside an indicator set at their place', () => {
    const exchange = EXCHANGE.replace(`schemas: ${join(ROOT, 'schemas')}`, 'schemas: schemas');
    const schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "uscc": { "type": "string" },
    "name": { "type": "strin" }
  }
}
`;
    const flow = FLOW.replace('enterprise.basic', 'ent.small');
    const problems = validate({ 'exchange.yaml': exchange, 'flows/ent.yaml': flow, 'schemas/ent.small.json': schema });
    expect(problems).toContain('schemas/ent.small.json:6:23: properties.name.type: must be equal to one of the allowed values');
  });

  it('holds indicator sets to strict JSON, and says where it breaks', () => {
    const exchange = EXCHANGE.replace(`schemas: ${join(ROOT, 'schemas')}`, 'schemas: schemas');
    const flow = FLOW.replace('enterprise.basic', 'ent.small');
    const schema = (body: string) => `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
${body}
  }
}
`;
    const fields = ['"uscc": { "type": "string" }', '"name": { "type": "string" }', '"status": { "type": "string" }', '"updated_at": { "type": "string", "format": "date-time" }'];
    const check = (body: string) => validate({ 'exchange.yaml': exchange, 'flows/ent.yaml': flow, 'schemas/ent.small.json': schema(body) });
    expect(check(fields.map((f) => `    ${f}`).join(',\n'))).toEqual([]);
    // a trailing comma, single quotes and a comment are YAML, not JSON (the wording after the place is V8's)
    const lines = fields.map((f) => `    ${f}`);
    expect(check(`${lines.join(',\n')},`)).toEqual([expect.stringMatching(/^schemas\/ent\.small\.json:9:3: invalid JSON: /)]);
    expect(check(lines.join(',\n').replace('"name"', "'name'"))).toEqual([expect.stringMatching(/^schemas\/ent\.small\.json:6:5: invalid JSON: /)]);
    expect(check(`    // the code\n${lines.join(',\n')}`)).toEqual([expect.stringMatching(/^schemas\/ent\.small\.json:5:5: invalid JSON: /)]);
  });

  it('takes indicator sets written in draft-07 as well as 2020-12, and says which it takes', () => {
    const exchange = EXCHANGE.replace(`schemas: ${join(ROOT, 'schemas')}`, 'schemas: schemas');
    const set = (dialect: string) => JSON.stringify({
      $schema: dialect, type: 'object', required: ['uscc'],
      properties: { uscc: { type: 'string' }, name: { type: 'string' }, status: { type: 'string' }, updated_at: { type: 'string', format: 'date-time' } },
    });
    const flow = FLOW.replace('enterprise.basic', 'ent.small');
    expect(validate({ 'exchange.yaml': exchange, 'flows/ent.yaml': flow, 'schemas/ent.small.json': set('http://json-schema.org/draft-07/schema#') })).toEqual([]);
    expect(validate({ 'exchange.yaml': exchange, 'flows/ent.yaml': flow, 'schemas/ent.small.json': set('http://json-schema.org/draft-04/schema#') }))
      .toEqual(['schemas/ent.small.json:1:12: indicator sets use JSON Schema 2020-12 ("$schema": "https://json-schema.org/draft/2020-12/schema") or draft-07']);
  });

  it('locates an indicator set\'s invalid regular expression at its pattern', () => {
    const exchange = EXCHANGE.replace(`schemas: ${join(ROOT, 'schemas')}`, 'schemas: schemas');
    const schema = JSON.stringify({
      $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object',
      properties: { uscc: { type: 'string' }, name: { type: 'string', pattern: '^[(' }, status: { type: 'string' }, updated_at: { type: 'string' } },
    }, null, 2);
    const problems = validate({ 'exchange.yaml': exchange, 'flows/ent.yaml': FLOW.replace('enterprise.basic', 'ent.small'), 'schemas/ent.small.json': schema });
    expect(problems).toEqual([expect.stringMatching(/^schemas\/ent\.small\.json:10:18: .*regular expression/i)]);
  });

  it('refuses a YAML alias bomb at its first alias, without expanding it', () => {
    const bomb = `${FLOW}x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;
    const line = bomb.split('\n').findIndex((l) => l.startsWith('x-b')) + 1;
    expect(validate({ 'exchange.yaml': EXCHANGE, 'flows/ent.yaml': bomb })).toEqual([
      `flows/ent.yaml:${line}:10: aliases expand too often (Excessive alias count indicates a resource exhaustion attack); at most 100 alias expansions are allowed`,
    ]);
  });

  it('checks the centre: durations, its name, https, the webhook', () => {
    const centre = (block: string, departments = '') => validate({ 'exchange.yaml': EXCHANGE.replace('flows: flows', `${departments}centre:\n${block}flows: flows`), 'flows/ent.yaml': FLOW });
    const db = '  database: { driver: postgres, url: "postgres://postgres@127.0.0.1/c" }\n';
    expect(centre(`${db}  heartbeat: 40s\n  alarms: { silent_after: 2m }\n`)).toEqual(['exchange.yaml:11:14: centre.heartbeat: nodes must send their ledger head at least every 30s']);
    expect(centre(`${db}  heartbeat: 5x\n`)).toEqual([expect.stringMatching(/^exchange\.yaml:11:14: centre\.heartbeat: must match pattern/)]);
    expect(centre(`${db}  heartbeat: 10s\n  alarms: { silent_after: 5s }\n`)).toEqual(['exchange.yaml:12:27: warning: centre.alarms.silent_after: shorter than two heartbeats (10s): nodes would be reported silent between them']);
    expect(centre(`  url: http://127.0.0.1:7400\n${db}  tls: { cert: c.pem, key: c.key }\n`)).toEqual(['exchange.yaml:10:8: centre.url: the centre serves https (centre.tls): write https://']);
    expect(centre(`${db}  alarms: { webhook: "not a url" }\n`)).toEqual([expect.stringMatching(/^exchange\.yaml:11:22: centre\.alarms\.webhook: must match pattern/)]);
    expect(centre(db, '  centre:\n    database: { driver: postgres, url: "postgres://postgres@127.0.0.1/x" }\n')).toEqual([expect.stringMatching(/department id 'centre' is the exchange centre's own name/)]);
    expect(centre(db)).toEqual([]);
  });

});
