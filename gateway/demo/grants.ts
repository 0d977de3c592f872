import type { Application } from '../centre/applications';
import { centreCall } from '../centre/client';
import type { Enforced } from '../centre/enforcer';
import type { PublishedEntry } from '../centre/catalog-store';
import { renderTable } from '../cli/table';
import type { Project } from '../config/project';
import type { DemoCentre } from './centre';
import { DEMO_LOGINS } from './centre';

type Decided = { application: Application; enforced: Enforced | null };

/** The demo's people at the centre: the exchange office's operator applies, public security's approver answers. */
async function tokens(demo: DemoCentre): Promise<{ operator: string; police: string }> {
  const token = async (name: string) => {
    const { password } = DEMO_LOGINS.find((l) => l.name === name)!;
    return (await centreCall<{ token: string }>(demo.url, '/api/login', { method: 'POST', body: { name, password }, token: null })).token;
  };
  return { operator: await token('operator'), police: await token('approver-police') };
}

/**
 * The seeds' loop before anything conditional travels (DESIGN §9): the catalog is published at the
 * centre; civil affairs applies for the items of the population register its target maps, public
 * security approves; tax applies for more than it needs and is rejected with the reason; a request
 * for a resource not shared is refused at once with its legal basis. Returns the report and the grant.
 */
export async function applyAndApprove(demo: DemoCentre, project: Project): Promise<{ text: string; grant: string }> {
  const who = await tokens(demo);
  const call = <T>(token: string, path: string, body?: unknown) => centreCall<T>(demo.url, path, { token, ...(body ? { method: 'POST', body } : {}) });
  const { entries } = await call<{ entries: PublishedEntry[] }>(who.operator, '/api/catalog');
  const civilTarget = project.flows.find((f) => f.id === 'person-basic')!.targets.find((t) => t.department === 'civil')!;
  const civil = await call<Decided>(who.operator, '/api/applications', {
    resource: 'person.basic', department: 'civil', items: Object.keys(civilTarget.fields),
    purpose: '最低生活保障资格审核：核验申请人户籍、婚姻与死亡状态', basis: '《社会救助暂行办法》第十一条', on_end: 'keep',
  });
  const approved = await call<Decided>(who.police, `/api/applications/${civil.application.id}/approve`, { reason: '符合最小必要原则' });
  const tax = await call<Decided>(who.operator, '/api/applications', {
    resource: 'person.basic', department: 'tax', items: ['id_number', 'name', 'phone', 'household_address'], purpose: '补全纳税人联系方式', basis: '内部工作需要',
  });
  const rejected = await call<Decided>(who.police, `/api/applications/${tax.application.id}/reject`, { reason: '联系电话与住址超出最小必要范围，且“内部工作需要”不是法定依据' });
  const refused = await call<Decided>(who.operator, '/api/applications', {
    resource: 'police.criminal-record', department: 'civil', items: ['id_number'], purpose: '低保审核参考', basis: '无',
  });
  const list = await call<Application[]>(who.operator, '/api/applications');
  const text = [
    `The centre published the catalog (${entries.length} resources; dxg catalog list / dxg catalog publish):`,
    renderTable(['code', 'resource', 'title', 'provider', 'sharing'], entries.map((e) => [e.code, e.resource, e.title, e.provider, e.sharing.type])),
    `dxg apply (operator): civil affairs asks for ${civil.application.items.length} items of person.basic → ${civil.application.id} submitted, to be answered by ${civil.application.dueDate} (10 working days)`,
    `dxg approve ${civil.application.id} (approver-police): ${approved.application.state}; the broker binds ${approved.enforced?.bound.join(', ') || '(bound already)'}`,
    `dxg apply (operator): tax asks for identity numbers, names, phones and addresses → ${tax.application.id}; dxg reject ${tax.application.id} (approver-police): ${rejected.application.reason}`,
    `dxg apply (operator): civil asks for police.criminal-record → ${refused.application.state} at once: ${refused.application.reason}`,
    'dxg applications:',
    renderTable(['id', 'state', 'department ← resource', 'decided by', 'reason'], list.map((a) => [a.id, a.state, `${a.department} ← ${a.resource}`, a.decidedBy ?? '', a.reason ?? ''])),
    'enterprise.basic is shared unconditionally: tax and quality supervision need no application.',
  ].join('\n');
  return { text, grant: civil.application.id };
}

/** Public security revokes civil's grant; returns the report and the grant list version the nodes must hold before records are withheld. */
export async function revoke(demo: DemoCentre, grant: string): Promise<{ text: string; version: number }> {
  const who = await tokens(demo);
  const r = await centreCall<Decided>(demo.url, `/api/applications/${grant}/revoke`, { token: who.police, method: 'POST', body: { reason: '年度低保审核结束，授权收回' } });
  const e = r.enforced!;
  return {
    text: `dxg revoke ${grant} (approver-police): ${r.application.state} — the broker unbound ${e.unbound.join(', ')}, closed civil's connections `
      + `and took back ${e.takenBack} queued message(s) unread; civil keeps what it received (on_end: keep)`,
    version: e.version,
  };
}
