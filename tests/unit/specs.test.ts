import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { editorSchemas, referenceText, schemaText } from '../../gateway/config/write-schemas';
import { ROOT } from '../helpers/exchange';

describe('editor schemas', () => {
  it.each(Object.entries(editorSchemas))('schemas/%s is generated from the spec the gateway validates with (npm run schemas)', (name, spec) => {
    expect(readFileSync(join(ROOT, 'schemas', name), 'utf8')).toBe(schemaText(spec));
  });

  it('docs/reference.md is generated from the same specs (npm run schemas)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'reference.md'), 'utf8')).toBe(referenceText());
  });
});
