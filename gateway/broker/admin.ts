import { DxgError } from '../errors';
import { maskText } from '../mask';
import type { Permissions } from './topology';

/**
 * RabbitMQ's management API, with an administrator's credentials (`broker.admin`): how `dxg init`
 * (and the centre) create department users and set what each may do. Nodes never hold it.
 */
export class BrokerAdmin {
  private readonly base: string;
  private readonly authorization: string;

  constructor(adminUrl: string, readonly vhost: string) {
    const url = new URL(adminUrl);
    this.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/$/, '');
  }

  /** Creates the user, or sets its password (no tags: it cannot use the management API). */
  putUser(name: string, password: string): Promise<void> {
    return this.call('PUT', `/api/users/${enc(name)}`, { password, tags: '' });
  }

  async setPermissions(user: string, p: Permissions): Promise<void> {
    await this.call('PUT', `/api/permissions/${enc(this.vhost)}/${enc(user)}`, { configure: p.configure, write: p.write, read: p.read });
    await this.call('PUT', `/api/topic-permissions/${enc(this.vhost)}/${enc(user)}`, p.audit);
  }

  deleteUser(name: string): Promise<void> {
    return this.call('DELETE', `/api/users/${enc(name)}`, undefined, true);
  }

  deleteExchange(name: string): Promise<void> {
    return this.call('DELETE', `/api/exchanges/${enc(this.vhost)}/${enc(name)}`, undefined, true);
  }

  deleteQueue(name: string): Promise<void> {
    return this.call('DELETE', `/api/queues/${enc(this.vhost)}/${enc(name)}`, undefined, true);
  }

  private async call(method: string, path: string, body?: unknown, missingIsFine = false): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: this.authorization, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new DxgError('DXG_BROKER', `cannot reach RabbitMQ's management API at ${maskText(this.base)} (${(err as Error).message}); enable it (rabbitmq-plugins enable rabbitmq_management) or set broker.admin`);
    }
    if (res.ok || (missingIsFine && res.status === 404)) return;
    const text = (await res.text().catch(() => '')).slice(0, 300);
    const hint = res.status === 401 ? ': the credentials of broker.admin (or, without it, of broker.url) are not an administrator\'s' : '';
    throw new DxgError('DXG_BROKER', `RabbitMQ's management API refused ${method} ${path} (${res.status})${hint} ${maskText(text)}`.trim());
  }
}

const enc = encodeURIComponent;

/** The virtual host an AMQP URL names (`/` when it names none). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrl.split(',')[0].trim()).pathname;
  return path && path !== '/' ? decodeURIComponent(path.slice(1)) : '/';
}
