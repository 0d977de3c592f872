import type { Options } from 'amqplib';
import { DxgError } from '../errors';
import { maskText } from '../mask';

/**
 * `broker.url`: one AMQP URL, or several separated by commas, the nodes of one RabbitMQ cluster.
 * Every reader of it goes through here, so that a list means the same thing everywhere: nodes fail
 * over along it, credentials are put into each element, and the management API defaults to the
 * first element's host.
 */

/** The elements of the list as written (trimmed); a comma inside a password is written `%2C`. */
export function splitBrokerUrls(text: string): string[] {
  return text.split(',').map((one) => one.trim());
}

/** What is wrong with the list, one sentence per bad element (empty when every element is usable). */
export function brokerUrlProblems(text: string): string[] {
  const elements = splitBrokerUrls(text);
  const problems: string[] = [];
  const vhosts = new Set<string>();
  const which = (i: number) => (elements.length > 1 ? `URL ${i + 1} of ${elements.length}` : 'the URL');
  elements.forEach((one, i) => {
    if (!one) {
      problems.push(`${which(i)} is empty (several URLs are separated by single commas)`);
      return;
    }
    if (!/^amqps?:\/\//i.test(one)) {
      problems.push(`${which(i)}, "${maskText(one)}", must start with amqp:// or amqps://`);
      return;
    }
    let url: URL;
    try {
      url = new URL(one);
    } catch {
      problems.push(`${which(i)}, "${maskText(one)}", is not a valid URL`);
      return;
    }
    if (!url.hostname) problems.push(`${which(i)}, "${maskText(one)}", names no host`);
    else vhosts.add(vhostOfUrl(url));
  });
  // the nodes of one cluster share their virtual hosts: a list naming two would split the topology
  if (vhosts.size > 1) problems.push(`the URLs name different virtual hosts (${[...vhosts].map((v) => `"${v}"`).join(', ')}); the nodes of one cluster share one`);
  return problems;
}

/** The parsed list; a bad element is a DXG_CONFIG error (the loader reports it at its line first). */
export function brokerUrls(text: string): URL[] {
  const problems = brokerUrlProblems(text);
  if (problems.length) throw new DxgError('DXG_CONFIG', `broker.url: ${problems.join('; ')}`);
  return splitBrokerUrls(text).map((one) => new URL(one));
}

/** The list with `user` and `password` in every element, in place of whatever the config names. */
export function withCredentials(text: string, user: string, password: string): string {
  return brokerUrls(text).map((url) => {
    url.username = encodeURIComponent(user);
    url.password = encodeURIComponent(password);
    return url.toString();
  }).join(',');
}

/** The virtual host a URL names (`/` when it names none). */
function vhostOfUrl(url: URL): string {
  return url.pathname && url.pathname !== '/' ? decodeURIComponent(url.pathname.slice(1)) : '/';
}

/**
 * One element as the object amqplib's `connect` takes. amqplib reads that object again on every
 * reconnection attempt, which is what lets a node move along the list (connection.ts).
 */
export function connectTarget(url: URL): Options.Connect {
  const q = url.searchParams;
  const int = (name: string) => (q.has(name) ? Number.parseInt(q.get(name)!, 10) : undefined);
  return {
    protocol: url.protocol.replace(/:$/, ''),
    // an IPv6 literal comes bracketed from URL, and net.connect wants it bare
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'amqps:' ? 5671 : 5672,
    // amqplib defaults to guest/guest only when both are absent, as it does for a URL string
    username: url.username || url.password ? decodeURIComponent(url.username) : undefined,
    password: url.username || url.password ? decodeURIComponent(url.password) : undefined,
    // amqplib unescapes the vhost itself, as it does a URL string's path
    vhost: url.pathname.length > 1 ? url.pathname.slice(1) : undefined,
    // a dead node is noticed within two heartbeats even when no packet says so
    heartbeat: int('heartbeat') ?? 10,
    frameMax: int('frameMax'),
    channelMax: int('channelMax'),
    locale: q.get('locale') ?? undefined,
  };
}

/** `host:port` of an element, to say in logs which node a connection reached (no credentials). */
export function nodeAddress(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'amqps:' ? 5671 : 5672)}`;
}
