import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vhostOf } from '../../gateway/broker/admin';
import { departmentUrl } from '../../gateway/broker/credentials';
import { brokerUrlProblems, brokerUrls, connectTarget, withCredentials } from '../../gateway/broker/urls';
import { loadExchange } from '../../gateway/config/exchange';
import { formatProblem, sortProblems } from '../../gateway/config/problems';
import { maskText } from '../../gateway/mask';

const CLUSTER = 'amqp://admin:s3cret@10.0.0.1:5672/city, amqp://admin:s3cret@10.0.0.2:5673/city,amqp://admin:s3cret@rabbit-3/city';

/** An exchange.yaml with this broker section; returns the config and its problems as `file:line:col: message`. */
function load(broker: string, departments = '  amr:\n    database: { driver: postgres, url: "postgres://postgres@127.0.0.1/amr" }\n') {
  const dir = mkdtempSync(join(tmpdir(), 'dxg-broker-urls-'));
  mkdirSync(join(dir, 'flows'));
  mkdirSync(join(dir, 'schemas'));
  const file = join(dir, 'exchange.yaml');
  writeFileSync(file, `exchange: city\nbroker:\n${broker}departments:\n${departments}flows: flows\nschemas: schemas\nkeys: keys\n`);
  const { doc, config } = loadExchange(file, {});
  return { config, problems: sortProblems(doc.problems).map((p) => formatProblem({ ...p, file: 'exchange.yaml' })) };
}

describe('broker.url with the nodes of a cluster', () => {
  it('parses every element of the list, spaces after commas allowed', () => {
    expect(brokerUrlProblems(CLUSTER)).toEqual([]);
    expect(brokerUrls(CLUSTER).map((u) => u.host)).toEqual(['10.0.0.1:5672', '10.0.0.2:5673', 'rabbit-3']);
  });

  it('names the element at fault, and its place in the list', () => {
    expect(brokerUrlProblems('amqp://a:5672,http://b:15672,amqp://c')).toEqual(['URL 2 of 3, "http://b:15672", must start with amqp:// or amqps://']);
    expect(brokerUrlProblems('amqp://a:5672,,amqp://c')).toEqual(['URL 2 of 3 is empty (several URLs are separated by single commas)']);
    expect(brokerUrlProblems('amqp://a:5672,amqp://u:pw@b:notaport')).toEqual(['URL 2 of 2, "amqp://u:***@b:notaport", is not a valid URL']);
    expect(brokerUrlProblems('amqp://a/x,amqp://b/y')).toEqual(['the URLs name different virtual hosts ("x", "y"); the nodes of one cluster share one']);
    expect(() => brokerUrls('amqp://a,amqp//b')).toThrow(expect.objectContaining({ code: 'DXG_CONFIG', message: 'broker.url: URL 2 of 2, "amqp//b", must start with amqp:// or amqps://' }));
  });

  it('puts the department user and password into every URL, keeping hosts, ports and the vhost', () => {
    const url = withCredentials(CLUSTER, 'dxg-city.amr', 'p@ss:w/rd,1');
    const parsed = brokerUrls(url);
    expect(parsed).toHaveLength(3);
    for (const u of parsed) {
      expect(decodeURIComponent(u.username)).toBe('dxg-city.amr');
      expect(decodeURIComponent(u.password)).toBe('p@ss:w/rd,1');
      expect(u.pathname).toBe('/city');
    }
    expect(parsed.map((u) => u.host)).toEqual(['10.0.0.1:5672', '10.0.0.2:5673', 'rabbit-3']);
    expect(url).not.toContain('s3cret');
  });

  it('turns an element into the address object amqplib re-reads on every reconnection', () => {
    const [first, , third] = brokerUrls(withCredentials(CLUSTER, 'dxg-city.amr', 'p@ss w'));
    expect(connectTarget(first)).toMatchObject({ protocol: 'amqp', hostname: '10.0.0.1', port: 5672, username: 'dxg-city.amr', password: 'p@ss w', vhost: 'city', heartbeat: 10 });
    expect(connectTarget(third).port).toBe(5672);
    expect(connectTarget(new URL('amqps://[::1]/%2F?heartbeat=30&frameMax=8192'))).toMatchObject({ protocol: 'amqps', hostname: '::1', port: 5671, vhost: '%2F', heartbeat: 30, frameMax: 8192, username: undefined });
  });

  // as dxg validate shows them: of several problems at one place, the first (the element's) is kept
  it('validates a list in exchange.yaml and reports a bad element at file:line:col', () => {
    expect(load(`  url: ${CLUSTER}\n`).problems).toEqual([]);
    expect(load('  url: amqp://a:5672,amqp:/b:5672\n').problems).toEqual(['exchange.yaml:3:8: broker.url: URL 2 of 2, "amqp:/b:5672", must start with amqp:// or amqps://']);
    expect(load('  url: "amqp://a:5672, tcp://b"\n').problems).toEqual(['exchange.yaml:3:8: broker.url: URL 2 of 2, "tcp://b", must start with amqp:// or amqps://']);
  });

  it('defaults the management API to the first URL\'s host, port 15672, and takes the vhost from the list', () => {
    const { config } = load(`  url: ${CLUSTER}\n`);
    expect(config!.broker.admin).toBe('http://admin:s3cret@10.0.0.1:15672');
    expect(vhostOf(config!.broker.url)).toBe('city');
  });

  it('gives each department its own credentials in every URL of the list', () => {
    const { config } = load(`  url: ${CLUSTER}\n`, [
      '  amr:\n    broker_password: amr-password\n    database: { driver: postgres, url: "postgres://postgres@127.0.0.1/amr" }\n',
      '  tax:\n    broker_password: tax-password\n    database: { driver: mysql, url: "mysql://root@127.0.0.1/tax" }\n',
    ].join(''));
    for (const [d, pw] of [['amr', 'amr-password'], ['tax', 'tax-password']]) {
      const urls = brokerUrls(departmentUrl(config!, d, `city.${d}`));
      expect(urls.map((u) => `${u.username}:${u.password}`)).toEqual(Array(3).fill(`city.${d}:${pw}`));
    }
  });

  it('masks the password of every URL in a list, and a first URL without credentials hides nothing of the next', () => {
    expect(maskText(CLUSTER)).toBe('amqp://admin:***@10.0.0.1:5672/city, amqp://admin:***@10.0.0.2:5673/city,amqp://admin:***@rabbit-3/city');
    expect(maskText('amqp://h1:5672,amqp://u:pw@h2:5672')).toBe('amqp://h1:5672,amqp://u:***@h2:5672');
    expect(maskText('postgres://u:a,b@db/x')).toBe('postgres://u:***@db/x');
  });
});
