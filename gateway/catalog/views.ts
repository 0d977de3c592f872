import type { CatalogEntry } from './catalog';

/** An entry as the views need it: what the YAML says, wherever it was read (a file, or the centre's published copy). */
type Entry = Omit<CatalogEntry, 'doc'>;

export interface CatalogFilter {
  provider?: string;
  theme?: string;
  classification?: string;
  sharing?: string;
  updateCycle?: string;
  /** words that must all appear in the code, title, abstract, themes or an item's name or title */
  text?: string;
}

/** The entries a filter keeps, in resource-code order. */
export function findEntries<E extends Entry>(entries: readonly E[], f: CatalogFilter): E[] {
  const words = (f.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  return entries
    .filter((e) => !f.provider || e.provider === f.provider)
    .filter((e) => !f.theme || e.themes.includes(f.theme))
    .filter((e) => !f.classification || [e.classification.class, e.classification.item, e.classification.subitem].includes(f.classification))
    .filter((e) => !f.sharing || e.sharing.type === f.sharing)
    .filter((e) => !f.updateCycle || e.updateCycle === f.updateCycle)
    .filter((e) => {
      if (!words.length) return true;
      const hay = [e.resource, e.code, e.title, e.abstract, ...e.themes, ...e.items.flatMap((i) => [i.name, i.title])].join('\n').toLowerCase();
      return words.every((w) => hay.includes(w));
    })
    .sort((a, b) => a.code.localeCompare(b.code));
}

/** Thematic views: each theme with the resources in it. */
export function themes(entries: readonly Entry[]): { theme: string; resources: string[] }[] {
  const by = new Map<string, string[]>();
  for (const e of entries) for (const t of e.themes) by.set(t, [...(by.get(t) ?? []), e.resource]);
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([theme, resources]) => ({ theme, resources: resources.sort() }));
}

/** An entry as JSON: what the YAML says, items with their types, no parser state. */
export function entryJson(e: CatalogEntry): Omit<CatalogEntry, 'doc'> & { file: string } {
  const { doc, ...rest } = e;
  return { ...rest, file: doc.display };
}

const SHARING_URI: Record<string, string> = {
  unconditional: 'http://publications.europa.eu/resource/authority/access-right/PUBLIC',
  conditional: 'http://publications.europa.eu/resource/authority/access-right/RESTRICTED',
  none: 'http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC',
};
const FREQUENCY_URI: Record<string, string> = {
  realtime: 'http://publications.europa.eu/resource/authority/frequency/UPDATE_CONT',
  daily: 'http://publications.europa.eu/resource/authority/frequency/DAILY',
  weekly: 'http://publications.europa.eu/resource/authority/frequency/WEEKLY',
  monthly: 'http://publications.europa.eu/resource/authority/frequency/MONTHLY',
  quarterly: 'http://publications.europa.eu/resource/authority/frequency/QUARTERLY',
  yearly: 'http://publications.europa.eu/resource/authority/frequency/ANNUAL',
};

/**
 * The catalog as DCAT-AP JSON-LD: a dcat:Catalog of dcat:Datasets, each with its provider as
 * dct:publisher, its sharing type as dct:accessRights (with the condition or basis as a rights
 * statement), its update cycle as dct:accrualPeriodicity and its information items.
 */
export function dcat(exchange: string, entries: readonly Entry[], publisherName: (id: string) => string): object {
  const base = `urn:dxg:${exchange}:`;
  return {
    '@context': {
      dcat: 'http://www.w3.org/ns/dcat#', dct: 'http://purl.org/dc/terms/', foaf: 'http://xmlns.com/foaf/0.1/', adms: 'http://www.w3.org/ns/adms#', dxg: 'urn:dxg:vocabulary:',
    },
    '@id': `${base}catalog`,
    '@type': 'dcat:Catalog',
    'dct:title': { '@language': 'zh', '@value': `${exchange} 信息资源目录` },
    'dcat:dataset': entries.map((e) => ({
      '@id': `${base}resource:${e.resource}`,
      '@type': 'dcat:Dataset',
      'dct:identifier': e.code,
      'adms:identifier': e.resource,
      'dct:title': { '@language': 'zh', '@value': e.title },
      'dct:description': { '@language': 'zh', '@value': e.abstract },
      'dct:publisher': { '@type': 'foaf:Agent', '@id': `${base}department:${e.provider}`, 'foaf:name': publisherName(e.provider) },
      'dcat:theme': e.themes,
      'dct:subject': [e.classification.class, e.classification.item, e.classification.subitem].filter(Boolean),
      'dct:accessRights': { '@id': SHARING_URI[e.sharing.type], 'dct:description': e.sharing.condition ?? e.sharing.basis ?? null },
      'dct:accrualPeriodicity': { '@id': FREQUENCY_URI[e.updateCycle] },
      'dct:issued': { '@type': 'http://www.w3.org/2001/XMLSchema#date', '@value': e.published },
      'dct:format': e.format,
      'dct:relation': e.related.map((r) => ({ '@id': `${base}resource:${r}` })),
      'dxg:sharingMethod': e.method,
      'dxg:openType': e.open,
      'dxg:items': e.items.map((i) => ({ 'dxg:name': i.name, 'dct:title': i.title, 'dxg:type': i.type, 'dxg:sensitive': i.sensitive })),
    })),
  };
}
