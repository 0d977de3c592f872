import type { Command } from 'commander';
import { findEntries, dcat, entryJson, themes, type CatalogFilter } from '../../catalog/views';
import { catalogCsv } from '../../catalog/csv';
import { centreCall } from '../../centre/client';
import { centreUrl } from './login';
import { SHARING_TYPES, UPDATE_CYCLES } from '../../catalog/entry.spec';
import type { Project } from '../../config/project';
import { DxgError } from '../../errors';
import { project, write } from '../context';
import { renderTable } from '../table';
import { count } from '../words';

interface Facets {
  provider?: string;
  theme?: string;
  classification?: string;
  sharing?: string;
  updateCycle?: string;
  format: string;
}

const SHARING_ZH: Record<string, string> = { unconditional: '无条件共享', conditional: '有条件共享', none: '不予共享' };

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description('the resource catalog (信息资源目录): what is shared, by whom, on what terms (docs/catalog.md)');
  const facets = (c: Command) => c
    .option('-p, --provider <department>', 'only resources this department provides')
    .option('-t, --theme <theme>', 'only resources in this thematic view')
    .option('--classification <name>', 'only resources of this class, item or subitem (类/项/目)')
    .option('--sharing <type>', `only ${SHARING_TYPES.join(', ')}`)
    .option('--update-cycle <cycle>', `only ${UPDATE_CYCLES.join(', ')}`)
    .option('--format <format>', 'table, json or csv', 'table');

  facets(catalog.command('list').description('the catalog, by resource code')).action((opts: Facets, cmd: Command) => list(cmd, opts));
  facets(catalog.command('search <text...>').description('resources whose code, title, abstract, themes or information items hold every word'))
    .action((text: string[], opts: Facets, cmd: Command) => list(cmd, { ...opts, text: text.join(' ') }));

  catalog.command('show <resource>').description("one entry whole: its terms and its information items").option('--format <format>', 'table or json', 'table')
    .action((resource: string, opts: { format: string }, cmd: Command) => {
      const p = governed(cmd);
      const e = p.catalog!.find((x) => x.resource === resource || x.code === resource);
      if (!e) throw new DxgError('DXG_USAGE', `no resource '${resource}' in the catalog (dxg catalog list)`);
      if (opts.format === 'json') return write(JSON.stringify(entryJson(e), null, 2));
      const name = (d: string) => `${d} (${p.config.departments.get(d)?.name ?? '?'})`;
      write([
        `${e.title} — ${e.resource}, code ${e.code} (${e.doc.display})`,
        `provider: ${name(e.provider)}; classification: ${[e.classification.class, e.classification.item, e.classification.subitem].filter(Boolean).join(' / ')}`,
        `sharing: ${e.sharing.type} (${SHARING_ZH[e.sharing.type]})${e.sharing.condition ? `; condition: ${e.sharing.condition}` : ''}${e.sharing.basis ? `; basis: ${e.sharing.basis}` : ''}`,
        `method: ${e.method}; open: ${e.open}; format: ${e.format}; updated: ${e.updateCycle}; published ${e.published}`,
        `themes: ${e.themes.join(', ') || '-'}; related: ${e.related.join(', ') || '-'}`,
        e.abstract,
        renderTable(['item', 'title', 'type', 'sensitive'], e.items.map((i) => [i.name, i.title, i.type, i.sensitive ? 'yes' : ''])),
        `flows that move it: ${p.flows.filter((f) => f.resource === e.resource).map((f) => `${f.id} (to ${f.targets.map((t) => t.department).join(', ')})`).join('; ') || 'none'}`,
      ].join('\n'));
    });

  catalog.command('themes').description('the thematic views: each theme with its resources')
    .action((_opts, cmd: Command) => {
      write(renderTable(['theme', 'resources'], themes(governed(cmd).catalog!).map((t) => [t.theme, t.resources.join(', ')])));
    });

  catalog.command('publish').description('load the catalog entries into the exchange centre (as an operator: dxg login); they replace the published ones')
    .action(async (_opts, cmd: Command) => {
      const p = governed(cmd);
      const r = await centreCall<{ published: number; withdrawn: string[] }>(centreUrl(cmd), '/api/catalog', { method: 'POST', body: { entries: p.catalog!.map(entryJson) } });
      write(`published ${count(r.published, 'entry', 'entries')} to the centre${r.withdrawn.length ? `; withdrawn: ${r.withdrawn.join(', ')}` : ''}`);
    });

  catalog.command('export').description('the whole catalog as DCAT-AP JSON-LD or CSV').option('--format <format>', 'dcat or csv', 'dcat')
    .action((opts: { format: string }, cmd: Command) => {
      if (!['dcat', 'csv'].includes(opts.format)) throw new DxgError('DXG_USAGE', `--format must be dcat or csv, not '${opts.format}'`);
      const p = governed(cmd);
      const entries = findEntries(p.catalog!, {});
      if (opts.format === 'csv') return void process.stdout.write(catalogCsv(entries));
      write(JSON.stringify(dcat(p.config.exchange, entries, (d) => p.config.departments.get(d)?.name ?? d), null, 2));
    });
}


function governed(cmd: Command): Project {
  const p = project(cmd);
  if (!p.catalog) throw new DxgError('DXG_CONFIG', `${p.config.doc.display} names no catalog: add catalog: (a folder of entries, docs/catalog.md)`);
  return p;
}

function list(cmd: Command, opts: Facets & { text?: string }): void {
  if (!['table', 'json', 'csv'].includes(opts.format)) throw new DxgError('DXG_USAGE', `--format must be table, json or csv, not '${opts.format}'`);
  if (opts.sharing && !(SHARING_TYPES as readonly string[]).includes(opts.sharing)) throw new DxgError('DXG_USAGE', `--sharing must be one of ${SHARING_TYPES.join(', ')}, not '${opts.sharing}'`);
  if (opts.updateCycle && !(UPDATE_CYCLES as readonly string[]).includes(opts.updateCycle)) throw new DxgError('DXG_USAGE', `--update-cycle must be one of ${UPDATE_CYCLES.join(', ')}, not '${opts.updateCycle}'`);
  const p = governed(cmd);
  if (opts.provider && !p.config.departments.has(opts.provider)) throw new DxgError('DXG_USAGE', `unknown department '${opts.provider}' (known: ${[...p.config.departments.keys()].join(', ')})`);
  const entries = findEntries(p.catalog!, opts as CatalogFilter);
  if (opts.format === 'json') return write(JSON.stringify(entries.map(entryJson), null, 2));
  if (opts.format === 'csv') return void process.stdout.write(catalogCsv(entries));
  write(renderTable(['code', 'resource', 'title', 'provider', 'sharing', 'updated', 'items', 'themes'], entries.map((e) => [
    e.code, e.resource, e.title, e.provider, `${e.sharing.type} (${SHARING_ZH[e.sharing.type]})`, e.updateCycle, e.items.length, e.themes.join(', '),
  ])));
  write(`${entries.length} of ${p.catalog!.length} resources`);
}
