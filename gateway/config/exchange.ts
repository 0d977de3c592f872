import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { brokerUrlProblems, splitBrokerUrls } from '../broker/urls';
import { WorkingCalendar } from '../centre/calendar';
import { errorMessage } from '../errors';
import { SourceDocument } from './document';
import { DURATION_PATTERN, exchangeSpec } from './exchange.spec';
import { CENTRE, durationMs } from './duration';
import type { CentreConfig, Department, ExchangeConfig, ListenAddress } from './model';
import { specChecker } from './spec-check';

const checkSpec = specChecker(exchangeSpec);
const DURATION = new RegExp(DURATION_PATTERN);

interface RawExchange {
  exchange: string;
  broker: { url: string; admin?: string; ca?: string; prefetch: number; delivery_limit: number; message_max_bytes: number; envelope_format: number };
  departments: Record<string, { name?: string; broker_password?: string; listen?: string | false; database: { driver: string; url: string; pool: number } }>;
  centre?: {
    url: string; listen: string; heartbeat: string;
    database: { driver: string; url: string; pool: number };
    alarms: { silent_after: string; lag_over: string; webhook?: string; webhook_retry: string };
    archive?: { after: string; dir: string };
    tls?: { cert: string; key: string };
    approval: { answer_within: number; calendar?: string; check_every: string };
  };
  flows: string;
  schemas: string;
  keys: string;
  catalog?: string;
}

/**
 * Reads `exchange.yaml`. The config comes back whenever its shape allows (so the flows can be checked
 * against it too); whether it is usable is `doc.ok`.
 */
export function loadExchange(file: string, env: NodeJS.ProcessEnv = process.env): { doc: SourceDocument; config: ExchangeConfig | null } {
  const doc = SourceDocument.read(resolve(file));
  if (!doc.ok) return { doc, config: null };
  doc.interpolate(env);
  const raw = doc.value() as RawExchange;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    doc.problem([], 'the exchange configuration must be a mapping (exchange:, broker:, departments:)');
    return { doc, config: null };
  }
  // before the spec, whose pattern cannot say which element of a cluster's list is at fault (one problem per place is kept)
  if (typeof raw.broker === 'object' && raw.broker !== null && typeof raw.broker.url === 'string') {
    const wrong = brokerUrlProblems(raw.broker.url);
    if (wrong.length) doc.problem(['broker', 'url'], `broker.url: ${wrong.join('; ')}`);
  }
  checkSpec(doc, raw);
  // with errors the config is still returned when its shape allows, so that flows get checked too
  if (typeof raw.departments !== 'object' || raw.departments === null || typeof raw.broker !== 'object' || raw.broker === null) return { doc, config: null };

  const base = dirname(doc.path);
  const dirs = {
    flows: resolve(base, String(raw.flows)), schemas: resolve(base, String(raw.schemas)), keys: resolve(base, String(raw.keys)),
    catalog: typeof raw.catalog === 'string' ? resolve(base, raw.catalog) : null,
  };
  for (const name of ['flows', 'schemas'] as const) {
    if (!existsSync(dirs[name])) doc.problem([name], `folder ${dirs[name]} does not exist`);
  }
  const departments = new Map<string, Department>();
  for (const [position, [id, d]] of Object.entries(raw.departments).entries()) {
    try {
      new URL(d.database.url);
    } catch {
      doc.problem(['departments', id, 'database', 'url'], `departments.${id}.database.url: not a valid URL`);
    }
    const listen = listenAddress(d?.listen, position);
    if (listen && listen.port > 65535) doc.problem(['departments', id, 'listen'], `departments.${id}.listen: port ${listen.port} is above 65535`);
    if (d && typeof d === 'object') departments.set(id, { id, name: d.name ?? id, database: { ...d.database }, brokerPassword: d.broker_password, listen });
  }
  const config: ExchangeConfig = {
    file: doc.path,
    doc,
    exchange: raw.exchange,
    broker: {
      url: raw.broker.url,
      admin: raw.broker.admin ?? defaultAdmin(raw.broker.url),
      ca: raw.broker.ca === undefined ? undefined : resolve(base, raw.broker.ca),
      prefetch: raw.broker.prefetch,
      deliveryLimit: raw.broker.delivery_limit,
      messageMaxBytes: raw.broker.message_max_bytes,
      envelopeFormat: raw.broker.envelope_format,
    },
    departments,
    centre: centreConfig(doc, raw, departments),
    dirs,
  };
  return { doc, config };
}

/** `centre:` with its durations in milliseconds; the name `centre` is then the centre's own on the broker, no department's. */
function centreConfig(doc: SourceDocument, raw: RawExchange, departments: Map<string, Department>): CentreConfig | null {
  const c = raw.centre;
  if (!c || typeof c !== 'object' || typeof c.database !== 'object' || c.database === null) return null;
  // a duration the spec refused is reported there already: no centre config to build from it
  const durations = [c.heartbeat, c.alarms?.silent_after, c.alarms?.lag_over, c.alarms?.webhook_retry, c.approval?.check_every, ...(c.archive ? [c.archive.after] : [])];
  if (durations.some((d) => typeof d !== 'string' || !DURATION.test(d))) return null;
  if (departments.has(CENTRE)) doc.problem(['departments', CENTRE], `department id '${CENTRE}' is the exchange centre's own name on the broker once centre: is configured; rename the department`);
  const heartbeatMs = durationMs(c.heartbeat);
  if (heartbeatMs > 30_000) doc.problem(['centre', 'heartbeat'], 'centre.heartbeat: nodes must send their ledger head at least every 30s');
  if (heartbeatMs < 100) doc.problem(['centre', 'heartbeat'], 'centre.heartbeat: at least 100ms');
  if (durationMs(c.alarms.silent_after) < 2 * heartbeatMs) {
    doc.problem(['centre', 'alarms', 'silent_after'], `centre.alarms.silent_after: shorter than two heartbeats (${c.heartbeat}): nodes would be reported silent between them`, 'warning');
  }
  if (c.archive && durationMs(c.archive.after) === 0) doc.problem(['centre', 'archive', 'after'], 'centre.archive.after: archive entries of some age, e.g. 90d, not 0');
  if (c.tls && !/^https:/.test(c.url)) doc.problem(['centre', 'url'], 'centre.url: the centre serves https (centre.tls): write https://');
  if (!c.tls && /^https:/.test(c.url)) doc.problem(['centre', 'url'], 'centre.url: https needs centre.tls (a certificate for the centre)');
  if (c.approval.calendar) {
    try {
      WorkingCalendar.read(resolve(dirname(doc.path), c.approval.calendar));
    } catch (err) {
      doc.problem(['centre', 'approval', 'calendar'], errorMessage(err));
    }
  }
  const listen = listenAddress(c.listen, 0)!;
  if (listen.port > 65535) doc.problem(['centre', 'listen'], `centre.listen: port ${listen.port} is above 65535`);
  return {
    url: c.url.replace(/\/+$/, ''),
    listen,
    database: { ...c.database },
    heartbeatMs,
    alarms: { silentAfterMs: durationMs(c.alarms.silent_after), lagOverMs: durationMs(c.alarms.lag_over), webhook: c.alarms.webhook?.trim() || null, webhookRetryMs: durationMs(c.alarms.webhook_retry) },
    archive: c.archive ? { afterMs: durationMs(c.archive.after), dir: resolve(dirname(doc.path), c.archive.dir) } : null,
    tls: c.tls ? { cert: resolve(dirname(doc.path), c.tls.cert), key: resolve(dirname(doc.path), c.tls.key) } : null,
    approval: {
      answerWithin: c.approval.answer_within,
      calendar: c.approval.calendar ? resolve(dirname(doc.path), c.approval.calendar) : null,
      checkMs: Math.max(100, durationMs(c.approval.check_every)),
    },
  };
}

/** DESIGN §8: by default each department's node listens on 127.0.0.1, port 7401 + its position in the config. */
function listenAddress(listen: string | false | undefined, position: number): ListenAddress | null {
  if (listen === false || listen === 'off') return null;
  if (typeof listen !== 'string') return { host: '127.0.0.1', port: 7401 + position };
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(colon + 1)) };
}

/**
 * The management API on the broker's host, port 15672, with the credentials of the AMQP URL
 * (configurations written before `admin` existed); of a cluster's list, the first node's.
 */
function defaultAdmin(url: string): string {
  try {
    const amqp = new URL(splitBrokerUrls(url)[0]);
    const user = amqp.username || 'guest';
    const password = amqp.username ? amqp.password : 'guest';
    return `${amqp.protocol === 'amqps:' ? 'https' : 'http'}://${user}:${password}@${amqp.hostname}:15672`;
  } catch {
    return url;
  }
}
