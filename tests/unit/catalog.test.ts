import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatProblem } from '../../gateway/config/problems';
import { loadProject } from '../../gateway/config/project';
import { DXG, ROOT } from '../helpers/exchange';

const run = promisify(execFile);

/** A copy of the shipped exchange (config, flows, catalog) with the product's indicator sets, to change and check. */
function copy(): { dir: string; edit(file: string, from: string | RegExp, to: string): void; problems(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dxg-catalog-'));
  for (const d of ['config', 'flows', 'catalog']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  const config = join(dir, 'config', 'exchange.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace('schemas: ../schemas', `schemas: ${join(ROOT, 'schemas')}`));
  return {
    dir,
    edit(file, from, to) {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      const changed = text.replace(from, to);
      if (changed === text) throw new Error(`${file}: nothing to change for ${String(from)}`);
      writeFileSync(path, changed);
    },
    // paths are shown relative to the working directory; make them relative to the copy here
    problems: () => loadProject(config).problems.map((p) => formatProblem(p).replace(/[^\s(']*dxg-catalog-[^/]+\//g, '')),
  };
}

async function dxg(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [DXG, '--config', join(dir, 'config', 'exchange.yaml'), ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The resource catalog (DESIGN §9): entries checked at their place, flows governed by them, discovery and export. */
describe('resource catalog', () => {
  it('the shipped catalog and flows validate', () => {
    expect(copy().problems()).toEqual([]);
  });

  it('finds every broken rule at its file, line and column', () => {
    const x = copy();
    x.edit('catalog/enterprise.basic.yaml', 'provider: amr', 'provider: amrr');
    x.edit('catalog/enterprise.basic.yaml', /  - \{ name: legal_rep, sensitive: true \}\n/, '');
    x.edit('catalog/person.basic.yaml', '  - { name: phone, sensitive: true }', '  - { name: phones }');
    x.edit('catalog/police.criminal-record.yaml', /  basis: .*\n/, '');
    x.edit('catalog/tax.credit.yaml', 'update_cycle: yearly', 'update_cycle: hourly');
    expect(x.problems()).toEqual([
      "catalog/enterprise.basic.yaml:5:11: provider 'amrr' is not a department of config/exchange.yaml (did you mean 'amr'?)",
      "catalog/person.basic.yaml:24:13: information item 'phones' is not an indicator of person.basic (did you mean 'phone'?)",
      'catalog/police.criminal-record.yaml:17:3: sharing: a resource that is not shared (none) names its legal basis (basis:)',
      'catalog/tax.credit.yaml:19:15: update_cycle: must be one of: realtime, daily, weekly, monthly, quarterly, yearly',
      'flows/enterprise-basic.yaml:6:15: the catalog names amrr as the provider of enterprise.basic (catalog/enterprise.basic.yaml), not amr',
      "flows/enterprise-basic.yaml:36:7: indicator 'legal_rep' is not an information item of enterprise.basic in the catalog (catalog/enterprise.basic.yaml)",
    ].map((l) => expect.stringContaining(l.replace(/^[^:]+:\d+:\d+: /, ''))));
    expect(x.problems().map((p) => p.split(': ')[0])).toEqual([
      'catalog/enterprise.basic.yaml:5:11', 'catalog/person.basic.yaml:24:13', 'catalog/police.criminal-record.yaml:17:3', 'catalog/tax.credit.yaml:19:15',
      'flows/enterprise-basic.yaml:6:15', 'flows/enterprise-basic.yaml:36:7',
    ]);
  });

  it('reports a broken indicator set in its own file, not as missing from the catalog (found by a tester)', () => {
    const x = copy();
    cpSync(join(ROOT, 'schemas'), join(x.dir, 'schemas'), { recursive: true });
    x.edit('config/exchange.yaml', `schemas: ${join(ROOT, 'schemas')}`, 'schemas: ../schemas');
    x.edit('schemas/person.basic.json', '"format": "cn-id-number"', '"format": "cn-id-numbr"');
    const problems = x.problems();
    expect(problems).toContainEqual(expect.stringMatching(/^schemas\/person\.basic\.json:\d+:\d+: .*cn-id-numbr/));
    expect(problems.filter((p) => p.includes('not found'))).toEqual([]);
  });

  it('refuses a flow of a resource without an entry, and one of a resource not shared', () => {
    const x = copy();
    x.edit('flows/person-basic.yaml', 'resource: person.basic', 'resource: police.criminal-record');
    const problems = x.problems().join('\n');
    expect(problems).toMatch(/flows\/person-basic\.yaml:\d+:\d+: police\.criminal-record is not shared \(sharing: none, 《中华人民共和国治安管理处罚法》/);
    const y = copy();
    rmSync(join(y.dir, 'catalog', 'person.basic.yaml'));
    expect(y.problems()).toEqual(["flows/person-basic.yaml:4:11: resource 'person.basic' has no entry in the catalog (catalog): nothing is shared outside the catalog"]);
  });

  it('lists, searches by facet and text, shows an entry and exports DCAT-AP and CSV', async () => {
    const { dir } = copy();
    const credit = JSON.parse((await dxg(dir, 'catalog', 'list', '--theme', '社会信用', '--format', 'json')).stdout) as { resource: string }[];
    expect(credit.map((e) => e.resource).sort()).toEqual(['enterprise.basic', 'qs.production-license', 'tax.credit']);
    const conditional = JSON.parse((await dxg(dir, 'catalog', 'list', '--sharing', 'conditional', '--provider', 'police', '--format', 'json')).stdout) as { resource: string }[];
    expect(conditional.map((e) => e.resource)).toEqual(['person.basic']);
    const found = JSON.parse((await dxg(dir, 'catalog', 'search', '低保', '身份号码', '--format', 'json')).stdout) as { resource: string }[];
    expect(found.map((e) => e.resource).sort()).toEqual(['civil.low-income', 'person.basic']);
    const shown = await dxg(dir, 'catalog', 'show', 'person.basic');
    expect(shown.stdout).toContain('sharing: conditional (有条件共享); condition: 仅用于法定职责范围内');
    expect(shown.stdout).toMatch(/id_number\s*│ 公民身份号码\s*│ string \(cn-id-number\)\s*│ yes/);
    expect(shown.stdout).toContain('flows that move it: person-basic (to civil)');

    const dcat = JSON.parse((await dxg(dir, 'catalog', 'export')).stdout) as { '@type': string; 'dcat:dataset': { 'dct:identifier': string; 'dct:accessRights': { '@id': string } }[] };
    expect(dcat['@type']).toBe('dcat:Catalog');
    expect(dcat['dcat:dataset']).toHaveLength(6);
    expect(dcat['dcat:dataset'].find((d) => d['dct:identifier'] === '3701-03-09/000002')!['dct:accessRights']['@id']).toMatch(/NON_PUBLIC$/);
    const csv = (await dxg(dir, 'catalog', 'export', '--format', 'csv')).stdout.trim().split('\n');
    expect(csv[0]).toBe('code,resource,title,provider,class,item,subitem,themes,sharing,condition,basis,method,open,update_cycle,published,items,sensitive_items');
    expect(csv).toHaveLength(7);

    const bad = await dxg(dir, 'catalog', 'list', '--sharing', 'sometimes');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("--sharing must be one of unconditional, conditional, none, not 'sometimes'");
    const missing = await dxg(dir, 'catalog', 'show', 'nothing.here');
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain("no resource 'nothing.here' in the catalog");
  });
});
