/**
 * The reference of the two YAML file kinds, written from their specs (so the docs cannot drift from
 * what `dxg validate` checks): one table row per property, with its type, default and description.
 */
type Spec = {
  type?: string | readonly string[];
  enum?: readonly unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Spec>;
  additionalProperties?: Spec | boolean;
  items?: Spec;
  anyOf?: readonly Spec[];
  required?: readonly string[];
};

function typeOf(s: Spec): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  const t = [s.type ?? 'any'].flat().join(' \\| ');
  if (t === 'array' && s.items) return `list of ${typeOf(s.items)}`;
  if (t === 'object' && s.properties) return 'mapping';
  if (t === 'object' && typeof s.additionalProperties === 'object') return `mapping of ${typeOf(s.additionalProperties)}`;
  return t;
}

function rows(spec: Spec, path: string, out: string[]): void {
  for (const [name, prop] of Object.entries(spec.properties ?? {})) {
    const here = path ? `${path}.${name}` : name;
    const required = spec.required?.includes(name) ? 'yes' : '';
    const dflt = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    out.push(`| \`${here}\` | ${typeOf(prop)} | ${required} | ${dflt} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
    if (prop.properties) rows(prop, here, out);
    if (prop.items?.properties) rows(prop.items, `${here}[]`, out);
    if (typeof prop.additionalProperties === 'object' && prop.additionalProperties.properties) rows(prop.additionalProperties, `${here}.<id>`, out);
  }
}

export function reference(title: string, spec: Spec): string {
  const out = [`## ${title}`, '', spec.description ?? '', '', '| property | type | required | default | meaning |', '|---|---|---|---|---|'];
  rows(spec, '', out);
  return `${out.join('\n')}\n`;
}
