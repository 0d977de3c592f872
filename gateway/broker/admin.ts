import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { BrokerConfig } from '../config/model';
import { DxgError, errorMessage } from '../errors';
import { maskText } from '../mask';
import type { Permissions } from './topology';

/**
 * RabbitMQ's management API, with an administrator's credentials (`broker.admin`): how `dxg init`
 * (and the centre) create department users and set what each may do. Nodes never hold it.
 */
export class BrokerAdmin {
  private readonly base: string;
  private readonly authorization: string;
  /** over https, the authority the API's certificate is verified against (broker.ca), else the system's */
  private readonly ca?: Buffer;

  constructor(adminUrl: string, readonly vhost: string, ca?: string) {
    const url = new URL(adminUrl);
    this.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/$/, '');
    if (ca && url.protocol === 'https:') this.ca = readFileSync(ca);
  }

  static of(broker: Pick<BrokerConfig, 'admin' | 'url' | 'ca'>): BrokerAdmin {
    return new BrokerAdmin(broker.admin, vhostOf(broker.url), broker.ca);
  }

  /** Creates the user, or sets its password (no tags: it cannot use the management API). */
  async putUser(name: string, password: string): Promise<void> {
    await this.call('PUT', `/api/users/${enc(name)}`, { password, tags: '' });
  }

  /** Without `audit`, no topic permission: the user may then use any routing key on the exchanges it may write. */
  async setPermissions(user: string, p: Omit<Permissions, 'audit'> & { audit?: Permissions['audit'] }): Promise<void> {
    await this.call('PUT', `/api/permissions/${enc(this.vhost)}/${enc(user)}`, { configure: p.configure, write: p.write, read: p.read });
    if (p.audit) await this.call('PUT', `/api/topic-permissions/${enc(this.vhost)}/${enc(user)}`, p.audit);
  }

  async deleteUser(name: string): Promise<void> {
    await this.call('DELETE', `/api/users/${enc(name)}`, undefined, true);
  }

  /** Closes every connection of the user (its clients reconnect, and register their consumers again under its permissions now). */
  async closeConnections(user: string, reason: string): Promise<number> {
    const all = JSON.parse(await this.call('GET', `/api/connections?columns=name,user,vhost`)) as { name: string; user: string; vhost: string }[];
    const mine = all.filter((c) => c.user === user && c.vhost === this.vhost);
    for (const c of mine) await this.call('DELETE', `/api/connections/${enc(c.name)}`, undefined, true, { 'x-reason': reason });
    return mine.length;
  }

  async deleteExchange(name: string): Promise<void> {
    await this.call('DELETE', `/api/exchanges/${enc(this.vhost)}/${enc(name)}`, undefined, true);
  }

  async deleteQueue(name: string): Promise<void> {
    await this.call('DELETE', `/api/queues/${enc(this.vhost)}/${enc(name)}`, undefined, true);
  }

  /** The queues of the virtual host whose names begin with `prefix`. */
  async listQueues(prefix: string): Promise<{ name: string }[]> {
    const all = JSON.parse(await this.call('GET', `/api/queues/${enc(this.vhost)}?columns=name`)) as { name: string }[];
    return all.filter((q) => q.name.startsWith(prefix)).map((q) => ({ name: q.name }));
  }

  /** The exchanges a queue is bound to (the default exchange, '', left out); none for a queue that is gone. */
  async queueSources(queue: string): Promise<string[]> {
    const text = await this.call('GET', `/api/queues/${enc(this.vhost)}/${enc(queue)}/bindings`, undefined, true);
    const bindings = text ? (JSON.parse(text) as { source: string }[]) : [];
    return Array.isArray(bindings) ? bindings.map((b) => b.source).filter((s) => s !== '') : [];
  }

  /** Resolves with the answer's text. */
  private async call(method: string, path: string, body?: unknown, missingIsFine = false, headers: Record<string, string> = {}): Promise<string> {
    let res: { status: number; text: string };
    try {
      res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
    } catch (err) {
      throw new DxgError('DXG_BROKER', `cannot reach RabbitMQ's management API at ${maskText(this.base)} (${errorMessage(err)}); enable it (rabbitmq-plugins enable rabbitmq_management) or set broker.admin`);
    }
    const ok = res.status >= 200 && res.status < 300;
    if (ok || (missingIsFine && res.status === 404)) return res.text;
    const hint = res.status === 401 ? ': the credentials of broker.admin (or, without it, of broker.url) are not an administrator\'s' : '';
    throw new DxgError('DXG_BROKER', `RabbitMQ's management API refused ${method} ${path} (${res.status})${hint} ${maskText(res.text.slice(0, 300))}`.trim());
  }

  /** node:http(s) rather than fetch: fetch cannot be given the authority of a privately signed certificate. */
  private request(method: string, path: string, body?: string, extra: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const url = new URL(`${this.base}${path}`);
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, {
        method,
        headers: { authorization: this.authorization, 'content-type': 'application/json', ...extra, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) },
        timeout: 15_000,
        ...(this.ca ? { ca: [this.ca] } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(body);
    });
  }
}

const enc = encodeURIComponent;

/** The virtual host an AMQP URL names (`/` when it names none). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrl.split(',')[0].trim()).pathname;
  return path && path !== '/' ? decodeURIComponent(path.slice(1)) : '/';
}
