import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import { existsSync, readFileSync } from 'node:fs';
import { refuseShared } from '../secrets';
import type { Database } from '../../adapters/adapter';
import { parseSince } from '../cli/commands/audit';
import { trailJson, type TrailJson } from '../cli/trail';
import type { Project } from '../config/project';
import { DxgError, errorMessage } from '../errors';
import { maskDeep, maskText } from '../mask';
import { VERSION } from '../version';
import type { Alarms } from './alarms';
import type { CentreMetrics } from './metrics';
import type { Journal } from './journal';
import type { KeyRegistry } from './registry';
import type { Monitor } from './monitor';
import { canonicalKey, CursorError, recordTrail, searchAudit } from './search';
import { authenticate, login, logout, type Role, type User } from './users';
import type { Verifier } from './verify';
import type { Asker } from './asker';
import type { Applications } from './applications';
import type { CatalogStore } from './catalog-store';
import type { Enforcer } from './enforcer';
import { grantRoutes, text } from './api-grants';
import { serveConsole } from './console';
import { lagHistory } from './history';
import type { ReplayReport } from '../node/replay';

export interface ApiContext {
  db: Database;
  project: Project;
  monitor: Monitor;
  alarms: Alarms;
  journal: Journal;
  verifier: Verifier;
  asker: Asker;
  registry: KeyRegistry;
  metrics: CentreMetrics;
  catalog: CatalogStore;
  applications: Applications;
  enforcer: Enforcer;
  /** whether the centre takes work: its database answers and its broker connection is up */
  ready(): Promise<{ ready: boolean; reason?: string }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
  interface FastifyContextConfig {
    /** roles that may call the route; absent: any logged-in user; `public`: no login */
    roles?: readonly Role[] | 'public';
  }
}

/** who may read the exchange's log, trails, quarantine and verification: an approver answers applications, it does not audit */
const READERS = ['auditor', 'operator'] as const;
/** HTTP statuses of the errors a route raises on purpose; any other is the centre's fault (500). */
const STATUS: Partial<Record<string, number>> = { DXG_USAGE: 400, DXG_FORBIDDEN: 403, DXG_NOT_FOUND: 404 };
const reveal = {
  reveal: { type: 'boolean', default: false, description: 'show record keys and personal data unmasked (needs a reason; the look is recorded in the centre journal)' },
  reason: { ...text, description: 'why you look: recorded with who and when' },
} as const;

/**
 * The centre's HTTP API (DESIGN §8): JSON, schema-first (ajv compiles each route's schema once),
 * an OpenAPI document at /api/openapi.json. Every /api route but login and the document needs a
 * token (`Authorization: Bearer …`, from POST /api/login); /metrics, /health and /ready need none.
 */
export async function buildApi(ctx: ApiContext): Promise<FastifyInstance> {
  const tls = ctx.project.config.centre?.tls;
  const options = { logger: false, bodyLimit: 64 * 1024, ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true } } };
  let app: FastifyInstance;
  try {
    app = (tls ? fastify({ ...options, https: { cert: readPem(tls.cert), key: readPem(tls.key, true) } }) : fastify(options)) as unknown as FastifyInstance;
  } catch (err) {
    if (err instanceof DxgError) throw err;
    throw new DxgError('DXG_CONFIG', `centre.tls: the certificate or key cannot be used (${errorMessage(err)}): give PEM files of a certificate and its private key`);
  }
  await app.register(swagger, {
    openapi: {
      info: { title: 'dxg exchange centre', version: VERSION, description: 'The exchange seen whole: every department\'s ledger, nodes, alarms, audit search.' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  });
  // the console is the centre's own files only: no frames, no scripts or connections elsewhere
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false, // the defaults upgrade every request to https, which a centre on plain http does not serve
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"],
        objectSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: tls ? { maxAge: 31_536_000 } : false,
  });
  // answers with personal data stay out of every cache
  app.addHook('onSend', async (req, reply) => {
    if (req.routeOptions.url?.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
  app.decorateRequest('user', null);
  const failures = new LoginFailures();

  // every route needs a login unless it is declared public (the console's files, /health, /ready,
  // /metrics, the login, the signed lists): decided by the route the router matched, never by the
  // URL as sent, which may spell the same path another way (/%61pi/journal is /api/journal)
  app.addHook('onRequest', async (req, reply) => {
    const roles = req.routeOptions.config?.roles;
    if (roles === 'public' || !req.routeOptions.url) return; // no route: the router answers 404
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    req.user = token ? await authenticate(ctx.db, token) : null;
    if (!req.user) return reply.code(401).send({ code: 'DXG_LOGIN', error: token ? 'token unknown or expired: log in again (dxg login)' : 'not logged in: POST /api/login, or dxg login' });
    if (roles && !roles.includes(req.user.role)) return reply.code(403).send({ code: 'DXG_FORBIDDEN', error: `the role ${req.user.role} may not do this (it needs: ${roles.join(' or ')})` });
  });

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ code: 'DXG_REQUEST', error: err.message });
    if (err instanceof CursorError) return reply.code(400).send({ code: 'DXG_REQUEST', error: err.message });
    if (err instanceof DxgError) return reply.code(STATUS[err.code] ?? 500).send({ code: err.code, error: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ code: 'DXG_REQUEST', error: err.message });
    return reply.code(500).send({ code: 'DXG_INTERNAL', error: errorMessage(err) });
  });

  const pub = { config: { roles: 'public' as const }, schema: { hide: true } };
  app.get('/health', pub, async () => ({ status: 'up', version: VERSION, uptimeSeconds: Math.round(process.uptime()) }));
  app.get('/ready', pub, async (_req, reply) => {
    const r = await ctx.ready();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', pub, async (_req, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
  app.get('/api/openapi.json', pub, async () => app.swagger());

  app.post('/api/login', {
    config: { roles: 'public' },
    schema: {
      summary: 'Log in: a token for the Authorization header', security: [],
      body: { type: 'object', additionalProperties: false, required: ['name', 'password'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, password: { type: 'string', minLength: 1, maxLength: 1000 } } },
    },
  }, async (req, reply) => {
    const { name, password } = req.body as { name: string; password: string };
    const wait = failures.waitMs(name, req.ip);
    if (wait > 0) return reply.code(429).header('retry-after', Math.ceil(wait / 1000)).send({ code: 'DXG_LOGIN', error: `too many failed logins from ${req.ip}: try again in ${Math.ceil(wait / 1000)} s` });
    const r = await login(ctx.db, name, password);
    if ('refused' in r) {
      failures.failed(name, req.ip);
      await ctx.journal.record(r.refused === 'name' ? UNKNOWN_NAME : name, 'login failed', null, `from ${req.ip}`);
      return reply.code(401).send({ code: 'DXG_LOGIN', error: 'name or password wrong' });
    }
    failures.succeeded(name, req.ip);
    await ctx.journal.record(name, 'login', null, null);
    return { token: r.token, name: r.user.name, role: r.user.role, department: r.user.department, expiresAt: r.expiresAt };
  });

  app.get('/api/me', { schema: { summary: 'Who the token is' } }, async (req) => req.user);

  app.post('/api/logout', { schema: { summary: 'End the login: the token is refused from now on' } }, async (req) => {
    await logout(ctx.db, /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')![1]);
    await ctx.journal.record(req.user!.name, 'logout', null, null);
    return { loggedOut: req.user!.name };
  });

  app.get('/api/status', { schema: { summary: 'Every flow target: counts (as dxg status), whether they reconcile, lag, rate, backlog' } }, async () => ({
    generatedAt: new Date().toISOString(), targets: await ctx.monitor.targets(), openAlarms: (await ctx.alarms.list({ open: true })).length,
  }));

  app.get('/api/flows', { schema: { summary: 'The flows, their targets (with the grant each receives under, or why none covers it) and their YAML' } }, async () => {
    const governance = await ctx.enforcer.inForce();
    return ctx.project.flows.map((f) => ({
      id: f.id, title: f.title, resource: f.resource, source: { department: f.source.department, schedule: f.source.schedule },
      targets: f.targets.map((t) => ({ department: t.department, table: t.table, mode: t.mode, indicators: Object.keys(t.fields), cover: governance?.cover(f, t) ?? null })),
      yaml: f.doc.text,
    }));
  });

  app.get('/api/nodes', { schema: { summary: 'Every department node: heartbeat, version, ledger head, how much of its ledger the centre holds' } }, async () => ctx.monitor.nodes());

  app.get('/api/alarms', {
    schema: { summary: 'Alarms, newest first', querystring: { type: 'object', additionalProperties: false, properties: { open: { type: 'boolean', default: false }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 200 } } } },
  }, async (req) => ctx.alarms.list(req.query as { open: boolean; limit: number }));

  app.post('/api/alarms/:id/clear', {
    config: { roles: ['operator'] },
    schema: { summary: 'Clear an open alarm (a dead letter dealt with)', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,18}$' } } }, body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { ...text, minLength: 1 } } } },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    // cleared and journaled together, or neither
    const cleared = await ctx.db.transaction(async (tx) => {
      if (!(await ctx.alarms.clearById(id, tx))) return false;
      await ctx.journal.recordIn(tx, req.user!.name, 'clear alarm', id, (req.body as { reason: string }).reason);
      return true;
    });
    if (!cleared) return reply.code(404).send({ code: 'DXG_NOT_FOUND', error: `no open alarm ${id}` });
    return { cleared: id };
  });

  app.get('/api/audit', {
    config: { roles: READERS },
    schema: {
      summary: 'The collected exchange log, filtered as dxg audit, in time order, cursor-paged',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          flow: text, department: text, kind: text, key: text,
          since: { ...text, description: 'ISO date/time, or an age: 30m, 12h, 7d' }, until: { ...text, description: 'ISO date/time' },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 }, cursor: text, ...reveal,
        },
      },
    },
  }, async (req) => {
    const q = req.query as { flow?: string; department?: string; kind?: string; key?: string; since?: string; until?: string; limit: number; cursor?: string; reveal: boolean; reason?: string };
    requireReason(q);
    const page = await searchAudit(ctx.db, { ...q, since: q.since ? parseSince(q.since, 'since') : undefined, until: q.until ? parseSince(q.until, 'until') : undefined });
    // a look at one record says whether it found any: a run of searches that find nothing is someone guessing keys
    if (q.key || q.reveal) await ctx.journal.record(req.user!.name, q.reveal ? 'look unmasked: audit' : 'look: audit', `${describe({ ...q, key: q.key && canonicalKey(q.key) })} → ${page.entries.length} entries`, q.reason ?? null, q.key);
    return { entries: shown(trailJson(page.entries), q.reveal, q.key), next: page.next };
  });

  app.get('/api/trail', {
    config: { roles: READERS },
    schema: {
      summary: "One record's trail across every department (as dxg audit --key)",
      querystring: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: { ...text, minLength: 1 }, ...reveal } },
    },
  }, async (req) => {
    const q = req.query as { key: string; reveal: boolean; reason?: string };
    requireReason(q);
    const entries = await recordTrail(ctx.db, q.key);
    await ctx.journal.record(req.user!.name, q.reveal ? 'look unmasked: trail' : 'look: trail', `key ${canonicalKey(q.key)} → ${entries.length} entries`, q.reason ?? null, q.key);
    return { key: q.key, entries: shown(trailJson(entries), q.reveal, q.key) };
  });

  app.get('/api/verify', {
    config: { roles: READERS },
    schema: {
      summary: "Every ledger checked: the centre's copy (chain, signatures), the node's head against it and the heads the centre countersigned, and the node's own check",
      querystring: { type: 'object', additionalProperties: false, properties: { wait: { type: 'integer', minimum: 0, maximum: 120, default: 10, description: 'seconds to wait for the nodes\' own checks' } } },
    },
  }, async (req) => ctx.verifier.verifyAll((req.query as { wait: number }).wait * 1000));

  const stage = { type: 'string', enum: ['source', 'target', 'dead-letter'] } as const;
  app.get('/api/quarantine', {
    config: { roles: READERS },
    schema: {
      summary: 'What was set aside, with the reason, asked of the departments\' nodes (records masked unless revealed)',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { department: text, flow: text, stage, all: { type: 'boolean', default: false }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 }, wait: { type: 'integer', minimum: 1, maximum: 60, default: 10 }, ...reveal },
      },
    },
  }, async (req) => {
    const q = req.query as { department?: string; flow?: string; stage?: 'source' | 'target' | 'dead-letter'; all: boolean; limit: number; wait: number; reveal: boolean; reason?: string };
    requireReason(q);
    const departments = q.department ? [known(ctx, q.department)] : [...ctx.project.config.departments.keys()];
    const answers = await ctx.asker.ask<Record<string, unknown>[] | { error: string }>(departments, { request: 'quarantine', filter: { flow: q.flow, stage: q.stage, all: q.all, limit: q.limit } }, q.wait * 1000);
    await ctx.journal.record(req.user!.name, q.reveal ? 'look unmasked: quarantine' : 'look: quarantine', describe(q), q.reason ?? null);
    // the department is the one that answered, whatever its items claim
    const items: Record<string, unknown>[] = [...answers].flatMap(([department, a]) => (Array.isArray(a) ? a.map((i) => ({ ...i, department })) : []));
    const sensitive = q.reveal ? null : await sensitiveItems(ctx);
    return {
      // the reason too: a database's refusal may quote the value it refused
      items: sensitive ? items.map((i) => ({
        ...i, record_key: i.record_key ? maskText(String(i.record_key)) : i.record_key, reason: typeof i.reason === 'string' ? maskText(i.reason) : i.reason,
        record: maskRecord(i.record, sensitive.get(resourceOf(ctx, i.flow))),
      })) : items,
      unanswered: departments.filter((d) => !answers.has(d)),
      // silent nodes were waited for only briefly: seconds since their last heartbeat (null: none since the centre started)
      silent: Object.fromEntries([...answers.silent].map(([d, ms]) => [d, ms === null ? null : Math.round(ms / 1000)])),
      errors: Object.fromEntries([...answers].filter(([, a]) => !Array.isArray(a)).map(([d, a]) => [d, (a as { error: string }).error])),
    };
  });

  app.post('/api/replay', {
    config: { roles: ['operator'] },
    schema: {
      summary: 'Send quarantined items of one department again (carried out by its node, as dxg replay there); recorded with the reason',
      body: {
        type: 'object', additionalProperties: false, required: ['department', 'reason'],
        properties: { department: text, flow: text, stage, ids: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 10000 }, reason: { ...text, minLength: 1 }, wait: { type: 'integer', minimum: 1, maximum: 120, default: 30 } },
      },
    },
  }, async (req, reply) => {
    const b = req.body as { department: string; flow?: string; stage?: 'source' | 'target' | 'dead-letter'; ids?: number[]; reason: string; wait: number };
    known(ctx, b.department);
    await ctx.journal.record(req.user!.name, 'replay', `${b.department}${b.flow ? ` flow ${b.flow}` : ''}${b.stage ? ` stage ${b.stage}` : ''}${b.ids ? ` items ${b.ids.join(',')}` : ''}`, b.reason);
    const answers = await ctx.asker.ask<ReplayReport[] | { error: string }>([b.department], { request: 'replay', filter: { flow: b.flow, stage: b.stage, ids: b.ids } }, b.wait * 1000);
    const answer = answers.get(b.department);
    if (!answer) return reply.code(504).send({ code: 'DXG_NO_ANSWER', error: `the node of ${b.department} ${answers.why(b.department, b.wait * 1000)} (is it running?); the request stays in its queue and is carried out when it runs` });
    if (!Array.isArray(answer)) return reply.code(502).send({ code: 'DXG_NODE', error: `the node of ${b.department} could not replay: ${answer.error}` });
    return { department: b.department, reports: answer };
  });

  app.get('/api/keys', { config: { roles: 'public' }, schema: { summary: "The key list: every department's public keys with their validity, signed by the centre", security: [] } }, async () => ctx.registry.signed());

  app.get('/api/keys/announcements/:department/:id', {
    config: { roles: 'public' },
    schema: {
      summary: 'What became of a key a department announced (dxg keys register, rotate): listed, refused with the reason, or pending', security: [],
      params: { type: 'object', required: ['department', 'id'], properties: { department: text, id: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
    },
  }, async (req) => {
    const { department, id } = req.params as { department: string; id: string };
    known(ctx, department);
    return ctx.registry.verdict(department, id);
  });

  const pem = { type: 'string', minLength: 40, maxLength: 4000, pattern: '-----BEGIN PUBLIC KEY-----' } as const;
  app.post('/api/keys/replace', {
    config: { roles: ['operator'] },
    schema: {
      summary: "Replace a department's lost or compromised key (its other keys end now); recorded with the reason",
      body: { type: 'object', additionalProperties: false, required: ['department', 'publicKey', 'reason'], properties: { department: text, publicKey: pem, reason: { ...text, minLength: 1 } } },
    },
  }, async (req) => {
    const b = req.body as { department: string; publicKey: string; reason: string };
    return ctx.registry.replace(b.department, b.publicKey, req.user!.name, b.reason);
  });

  app.post('/api/keys/revoke', {
    config: { roles: ['operator'] },
    schema: {
      summary: 'Revoke one key of a department; recorded with the reason',
      body: { type: 'object', additionalProperties: false, required: ['department', 'id', 'reason'], properties: { department: text, id: { type: 'string', pattern: '^[0-9a-f]{64}$' }, reason: { ...text, minLength: 1 } } },
    },
  }, async (req, reply) => {
    const b = req.body as { department: string; id: string; reason: string };
    if (!(await ctx.registry.revoke(b.department, b.id, req.user!.name, b.reason))) return reply.code(404).send({ code: 'DXG_NOT_FOUND', error: `no unrevoked key ${b.id} of ${b.department}` });
    return { revoked: b.id };
  });

  app.get('/api/journal', {
    config: { roles: ['auditor', 'operator'] },
    schema: {
      summary: "The centre's own journal: decisions and looks at personal data, newest first",
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 200 }, key: { ...text, description: 'only the looks at this record (its whole key: the journal keeps it masked, with a keyed digest); needs a reason' }, reason: reveal.reason },
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; key?: string; reason?: string };
    requireReason({ reveal: false, ...q });
    const looks = await ctx.journal.list(q.limit, q.key);
    if (q.key) await ctx.journal.record(req.user!.name, 'look: journal', `key ${canonicalKey(q.key)} → ${looks.length} looks`, q.reason ?? null, q.key);
    return looks;
  });

  app.get('/api/departments', { schema: { summary: 'The departments of the exchange' } }, async () =>
    [...ctx.project.config.departments.values()].map((d) => ({ id: d.id, name: d.name, driver: d.database.driver })));

  grantRoutes(app, ctx);
  app.get('/api/lag', {
    schema: { summary: 'Lag (p50, p95) and records applied per flow target over the last hours, in sixty buckets', querystring: { type: 'object', additionalProperties: false, properties: { hours: { type: 'number', minimum: 0.1, maximum: 168, default: 6 } } } },
  }, async (req) => lagHistory(ctx.db, (req.query as { hours: number }).hours));
  await serveConsole(app);

  await app.ready();
  return app;
}

/** The journal's actor for a failed login under a name no user has: what was typed may be a password. */
const UNKNOWN_NAME = '(no such user)';

/**
 * Failed logins slow down their source more than their victim: waits grow per name from one address
 * (a password guessed), up to 15 minutes; per address over every name (names tried in turn) and per
 * name over every address (one account guessed from many), both only up to a minute, so that nobody
 * can keep a user, or everyone behind one address, locked out for long. IPv6 addresses count by their
 * /64. Entries are forgotten an hour after their last failure; at most MAX_KEPT of them are kept.
 */
class LoginFailures {
  private static readonly MAX_KEPT = 10_000;
  private readonly failures = new Map<string, { count: number; until: number; last: number }>();

  waitMs(name: string, ip: string): number {
    const until = Math.max(...this.keys(name, ip).map(([key]) => this.failures.get(key)?.until ?? 0));
    return Math.max(0, until - Date.now());
  }

  failed(name: string, ip: string): void {
    for (const [key, free, capMs] of this.keys(name, ip)) this.count(key, free, capMs);
  }

  succeeded(name: string, ip: string): void {
    this.failures.delete(this.keys(name, ip)[0][0]);
  }

  /** The counters a login attempt touches: [key, failures free of any wait, longest wait]. */
  private keys(name: string, ip: string): [string, number, number][] {
    const from = addressGroup(ip);
    return [[`${name}@${from}`, 5, 15 * 60_000], [`@${from}`, 20, 60_000], [`${name}@`, 10, 60_000]];
  }

  /** From the `free`-th failure on: 1 s, 2 s, 4 s … up to `capMs`. */
  private count(key: string, free: number, capMs: number): void {
    const now = Date.now();
    for (const [k, v] of this.failures) if (now - v.last > 3_600_000 || this.failures.size >= LoginFailures.MAX_KEPT) this.failures.delete(k);
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    this.failures.set(key, { count, last: now, until: count < free ? 0 : now + Math.min(capMs, 1000 * 2 ** (count - free)) });
  }
}

/** An address as one source: an IPv4 address (also mapped into IPv6), or an IPv6 address's /64. */
function addressGroup(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1];
  if (!ip.includes(':')) return ip;
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head.split(':').filter(Boolean);
  const t = tail.split(':').filter(Boolean);
  return `${[...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t].slice(0, 4).join(':')}::/64`;
}

/** A PEM file of centre.tls; a private key others can read is refused, as the nodes refuse theirs. */
function readPem(file: string, secret = false): Buffer {
  if (secret && existsSync(file)) refuseShared(file, 'centre.tls private key');
  try {
    return readFileSync(file);
  } catch (err) {
    throw new DxgError('DXG_CONFIG', `centre.tls: cannot read ${file}: ${errorMessage(err)}`);
  }
}

function known(ctx: ApiContext, department: string): string {
  if (!ctx.project.config.departments.has(department)) throw new DxgError('DXG_USAGE', `no department '${department}' in the exchange`);
  return department;
}

/**
 * A look unmasked, or at one record by its key, needs a reason. The key's own look counts: a search
 * answers whether a key exists, so searching candidate keys (an identity number's masked birth date
 * tried day by day) would otherwise unmask it without one.
 */
function requireReason(q: { reveal: boolean; reason?: string; key?: string }): void {
  if (q.reason?.trim()) return;
  if (q.reveal) throw new DxgError('DXG_USAGE', 'reveal needs a reason: it is recorded with who looked and when');
  if (q.key) throw new DxgError('DXG_USAGE', 'a look at one record (key) needs a reason: it is recorded with who looked, when and whether the key was found');
}

function describe(q: Record<string, unknown>): string {
  return Object.entries(q).filter(([k, v]) => v !== undefined && k !== 'reason' && k !== 'reveal' && k !== 'limit').map(([k, v]) => `${k}=${String(v)}`).join(' ') || 'all';
}

/**
 * Record keys and details pass the operational mask (identity numbers and the like) unless revealed.
 * A look at one record reveals that record's key only: the other keys of the envelopes it travelled
 * in stay masked. An entry shown masked goes without its hash: the hash covers the whole keys, and an
 * identity number's masked digits (a birth date, some thousands of candidates) could be tried
 * against it (a hostile review did, in a quarter of a second).
 */
function shown(rows: TrailJson[], reveal: boolean, key?: string): TrailJson[] {
  if (reveal && !key) return rows;
  return rows.map((r) => {
    const keys = r.keys.map((k) => (reveal && k === key ? k : maskText(k)));
    const detail = reveal ? r.detail : maskDeep(r.detail);
    const masked = keys.some((k, i) => k !== r.keys[i]) || JSON.stringify(detail) !== JSON.stringify(r.detail);
    return { ...r, keys, detail, hash: masked ? null : r.hash };
  });
}

export type { FastifyReply, FastifyRequest };

/** The items each resource's catalog entry marks sensitive (personal data), by resource. */
async function sensitiveItems(ctx: ApiContext): Promise<Map<string, Set<string>>> {
  const entries = await ctx.catalog.entries();
  return new Map(entries.map((e) => [e.resource, new Set(e.items.filter((i) => i.sensitive).map((i) => i.name))]));
}

const resourceOf = (ctx: ApiContext, flow: unknown): string => ctx.project.flows.find((f) => f.id === flow)?.resource ?? '';

/**
 * A record as shown unrevealed: the catalog's sensitive items hidden whole (a birth date or a name
 * beside a masked identity number would give it back), identity and mobile numbers masked in the rest.
 */
function maskRecord(record: unknown, sensitive: Set<string> | undefined): unknown {
  if (!sensitive?.size || record === null || typeof record !== 'object' || Array.isArray(record)) return maskDeep(record);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, sensitive.has(k) && v !== null ? '***' : maskDeep(v)]));
}
