import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SHARING_TYPES, UPDATE_CYCLES } from '../catalog/entry.spec';
import { dcat, findEntries, themes } from '../catalog/views';
import { DxgError } from '../errors';
import { ON_END } from '../grants/list';
import { catalogCsv } from '../catalog/csv';
import type { Project } from '../config/project';
import { STATES, type Application, type Applications } from './applications';
import type { CatalogStore, PublishedEntry } from './catalog-store';
import type { Enforcer } from './enforcer';
import type { User } from './users';

export interface GrantContext {
  project: Project;
  catalog: CatalogStore;
  applications: Applications;
  enforcer: Enforcer;
}

/**
 * Free text of a request (a reason, a key, a purpose): no control characters but tab and line breaks.
 * A NUL made PostgreSQL refuse the journal entry of a look after the look had run (a hostile review).
 */
export const text = { type: 'string', maxLength: 1000, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' } as const;
const id = { type: 'object', properties: { id: { type: 'string', pattern: '^A[0-9]{1,18}$' } } } as const;
const reasonBody = (required: boolean) => ({
  type: 'object', additionalProperties: false, ...(required ? { required: ['reason'] } : {}), properties: { reason: { ...text, ...(required ? { minLength: 1 } : {}) } },
}) as const;

/**
 * The catalog as published, applications and grants (DESIGN §9). A decision returns once the broker
 * carries it out: a revoked target is unbound, its queue drained into dead letters, its connections
 * closed.
 */
export function grantRoutes(app: FastifyInstance, ctx: GrantContext): void {
  app.get('/api/grants', { config: { roles: 'public' }, schema: { summary: 'The grant list: every grant with its items, validity and end, signed by the centre (what nodes, dxg init and dxg validate decide with)', security: [] } },
    async () => ctx.applications.signed());

  const facets = {
    type: 'object', additionalProperties: false,
    properties: { provider: text, theme: text, classification: text, sharing: { enum: [...SHARING_TYPES] }, update_cycle: { enum: [...UPDATE_CYCLES] }, q: { ...text, description: 'words that must all appear' } },
  } as const;
  app.get('/api/catalog', { schema: { summary: 'The published catalog, filtered by the facets of dxg catalog list', querystring: facets } }, async (req) => {
    const q = req.query as { provider?: string; theme?: string; classification?: string; sharing?: string; update_cycle?: string; q?: string };
    return { entries: findEntries(await ctx.catalog.entries(), { ...q, updateCycle: q.update_cycle, text: q.q }) };
  });
  app.get('/api/catalog/themes', { schema: { summary: 'Thematic views: each theme with its resources' } }, async () => themes(await ctx.catalog.entries()));
  app.get('/api/catalog/export', {
    schema: { summary: 'The published catalog as DCAT-AP JSON-LD or CSV', querystring: { type: 'object', additionalProperties: false, properties: { format: { enum: ['dcat', 'csv'], default: 'dcat' } } } },
  }, async (req, reply) => {
    const entries = await ctx.catalog.entries();
    if ((req.query as { format: string }).format === 'csv') return reply.type('text/csv; charset=utf-8').send(catalogCsv(entries));
    const { config } = ctx.project;
    return dcat(config.exchange, entries, (d) => config.departments.get(d)?.name ?? d);
  });
  app.get('/api/catalog/:resource', { schema: { summary: 'One published entry whole', params: { type: 'object', properties: { resource: text } } } }, async (req, reply) => {
    const entry = await ctx.catalog.entry((req.params as { resource: string }).resource);
    return entry ?? reply.code(404).send({ code: 'DXG_NOT_FOUND', error: 'no such resource in the published catalog' });
  });
  app.post('/api/catalog', {
    config: { roles: ['operator'] },
    schema: {
      summary: 'Publish the catalog (dxg catalog publish): the entries replace the published ones; recorded in the journal',
      body: { type: 'object', additionalProperties: false, required: ['entries'], properties: { entries: { type: 'array', maxItems: 10000, items: { type: 'object' } } } },
    },
  }, async (req) => {
    const entries = (req.body as { entries: PublishedEntry[] }).entries;
    for (const [i, e] of entries.entries()) {
      const problem = entryProblem(e, ctx.project);
      if (problem) throw new DxgError('DXG_USAGE', `entry ${i} (${String(e?.resource)}): ${problem}`);
    }
    const result = await ctx.catalog.publish(entries, req.user!.name);
    return { ...result, enforced: await ctx.enforcer.enforce() };
  });

  app.get('/api/applications', {
    schema: {
      summary: 'Applications with their deadlines in working days and whether they are overdue, newest first',
      querystring: { type: 'object', additionalProperties: false, properties: { state: { enum: [...STATES] }, department: text, provider: text } },
    },
  }, async (req) => ctx.applications.list(req.query as { state?: string; department?: string; provider?: string }));

  app.get('/api/applications/:id', { schema: { summary: 'One application', params: id } }, async (req, reply) =>
    (await ctx.applications.get((req.params as { id: string }).id)) ?? reply.code(404).send({ code: 'DXG_NOT_FOUND', error: 'no such application' }));

  app.post('/api/applications', {
    config: { roles: ['operator', 'approver'] },
    schema: {
      summary: 'Apply for information items of a resource for a department (dxg apply): unconditional ones are granted at once, ones not shared refused at once',
      body: {
        type: 'object', additionalProperties: false, required: ['resource', 'department', 'items', 'purpose', 'basis'],
        properties: {
          resource: text, department: text, items: { type: 'array', minItems: 1, maxItems: 500, items: { type: 'string', minLength: 1, maxLength: 200 } },
          purpose: { ...text, minLength: 1 }, basis: { ...text, minLength: 1 }, days: { type: 'integer', minimum: 1, maximum: 3650 }, on_end: { enum: [...ON_END], default: 'keep' },
        },
      },
    },
  }, async (req) => {
    const b = req.body as { resource: string; department: string; items: string[]; purpose: string; basis: string; days?: number; on_end: 'keep' | 'purge' };
    const application = await ctx.applications.apply(req.user!, { ...b, onEnd: b.on_end });
    return { application, enforced: application.state === 'approved' ? await ctx.enforcer.enforce() : null, targets: targetsOf(ctx, application), uncovered: await uncovered(ctx, application) };
  });

  const decision = (summary: string, required: boolean, act: (user: User, id: string, reason: string) => Promise<unknown>) => ({
    config: { roles: ['operator', 'approver'] as const },
    schema: { summary, params: id, body: reasonBody(required) },
    handler: async (req: FastifyRequest) => {
      const application = await act(req.user!, (req.params as { id: string }).id, (req.body as { reason?: string } | undefined)?.reason ?? '');
      const enforced = await ctx.enforcer.enforce();
      return { application, enforced, targets: targetsOf(ctx, application), uncovered: await uncovered(ctx, application) };
    },
  });
  app.post('/api/applications/:id/approve', decision("Approve (the provider's approver): the target is bound at once; `uncovered` names the applicant's flow targets of the resource that the grants in force still do not cover (a grant for fewer items than a target maps covers nothing)", false, (u, i, r) => ctx.applications.approve(u, i, r)));
  app.post('/api/applications/:id/reject', decision("Reject with a reason (the provider's approver)", true, (u, i, r) => ctx.applications.reject(u, i, r)));
  app.post('/api/applications/:id/revoke', decision('Revoke a grant with a reason: the target is unbound, its queue drained into dead letters, its connections closed', true, (u, i, r) => ctx.applications.revoke(u, i, r)));
}

/** Why a published entry cannot be taken (what dxg validate checks, in short: the centre does not trust the client). */
function entryProblem(e: Partial<PublishedEntry>, project: Project): string | null {
  if (!e || typeof e !== 'object') return 'not an entry';
  if (typeof e.resource !== 'string' || typeof e.code !== 'string' || typeof e.title !== 'string') return 'resource, code and title are required';
  if (typeof e.provider !== 'string' || !project.config.departments.has(e.provider)) return `provider '${String(e.provider)}' is not a department of the exchange`;
  if (!e.sharing || !SHARING_TYPES.includes(e.sharing.type)) return `sharing type must be one of ${SHARING_TYPES.join(', ')}`;
  if (e.sharing.type === 'none' && !e.sharing.basis) return 'a resource not shared names its legal basis';
  if (!Array.isArray(e.items) || e.items.length === 0 || e.items.some((i) => typeof i?.name !== 'string')) return 'items: a list of information items with names';
  if (!Array.isArray(e.themes) || !e.classification || typeof e.updateCycle !== 'string') return 'themes, classification and update cycle are required';
  return termsProblem(e as PublishedEntry, project);
}

/**
 * What decides who may receive a resource and what is masked stays the centre's own catalog folder's
 * (loaded at its start, published then): a published entry may describe a resource anew, not change
 * its provider, its sharing type, its items or which of them are sensitive. Otherwise an operator
 * could make a conditional resource unconditional (granted at once, without the provider's approver)
 * or unmark an item to read it unmasked.
 */
function termsProblem(e: PublishedEntry, project: Project): string | null {
  const own = project.catalog?.find((c) => c.resource === e.resource);
  const there = 'change it in the centre\'s catalog folder, which the centre publishes at its start';
  if (!own) return 'not in the centre\'s catalog folder: a resource is added there, and the centre publishes its folder at its start';
  if (e.code !== own.code) return `code '${e.code}' is not the one in the centre's catalog folder ('${own.code}'): ${there}`;
  if (e.provider !== own.provider) return `provider '${e.provider}' is not the provider in the centre's catalog folder ('${own.provider}'): ${there}`;
  if (e.sharing.type !== own.sharing.type) return `sharing type '${e.sharing.type}' is not the one in the centre's catalog folder ('${own.sharing.type}'): ${there}`;
  // as sets of names, each once: two names merged into one ("a, b") are not the two
  const published = e.items.map((i) => i.name);
  const folder = new Set(own.items.map((i) => i.name));
  if (published.length !== folder.size || new Set(published).size !== published.length || published.some((n) => !folder.has(n))) {
    return `its items (${published.join('; ')}) are not those of the centre's catalog folder (${[...folder].join('; ')}): ${there}`;
  }
  const unmarked = own.items.filter((i) => i.sensitive && !e.items.some((p) => p.name === i.name && p.sensitive === true)).map((i) => i.name);
  if (unmarked.length) return `item${unmarked.length > 1 ? 's' : ''} ${unmarked.join(', ')} ${unmarked.length > 1 ? 'are' : 'is'} sensitive in the centre's catalog folder and stay${unmarked.length > 1 ? '' : 's'} marked: ${there}`;
  return null;
}

/** The flow targets (`flow → department`) the application's department has of its resource: what a grant of it can bind. */
function targetsOf(ctx: GrantContext, application: unknown): string[] {
  const a = application as Partial<Pick<Application, 'resource' | 'department'>>;
  return ctx.project.flows.filter((f) => f.resource === a.resource).flatMap((f) => f.targets.filter((t) => t.department === a.department).map((t) => `${f.id} → ${t.department}`));
}

/** The flow targets of an application's department and resource that no grant in force covers, with why: what an approval leaves withheld. */
async function uncovered(ctx: GrantContext, application: unknown): Promise<string[]> {
  const a = application as Partial<Pick<Application, 'state' | 'resource' | 'department'>>;
  const governance = a.state === 'approved' ? await ctx.enforcer.inForce() : null;
  if (!governance) return [];
  return governance.uncovered(ctx.project.flows.filter((f) => f.resource === a.resource), a.department)
    .map((u) => `${u.flow.id} → ${u.target.department}: ${u.problem}`);
}
