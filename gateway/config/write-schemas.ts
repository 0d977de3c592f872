import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exchangeSpec } from './exchange.spec';
import { flowSpec } from './flow.spec';
import { catalogSpec } from '../catalog/entry.spec';
import { reference } from './reference';

/** The editor schemas of the two YAML file kinds, as committed in schemas/: generated from the specs. */
export const editorSchemas = {
  'dxg-exchange.schema.json': exchangeSpec,
  'dxg-flow.schema.json': flowSpec,
  'dxg-catalog.schema.json': catalogSpec,
};

export const schemaText = (spec: object): string => `${JSON.stringify(spec, null, 2)}\n`;

/** docs/reference.md: the configuration reference, from the same specs. */
export const referenceText = (): string => [
  '# Configuration reference',
  '',
  'Written by `npm run schemas` from the specs `dxg validate` checks with (gateway/config/*.spec.ts); do not edit by hand.',
  '',
  reference('Exchange configuration (`config/exchange.yaml`)', exchangeSpec),
  reference('Exchange flow (`flows/*.yaml`)', flowSpec),
  reference('Resource catalog entry (`catalog/*.yaml`)', catalogSpec),
].join('\n');

/** `npm run schemas`: rewrites schemas/dxg-*.schema.json after a spec changed. */
if (require.main === module) {
  const dir = process.argv[2] ?? 'schemas';
  for (const [name, spec] of Object.entries(editorSchemas)) writeFileSync(join(dir, name), schemaText(spec));
  writeFileSync(join(dir, '..', 'docs', 'reference.md'), referenceText());
}
