import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Department, ExchangeConfig } from '../config/model';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import { maskText } from '../mask';
import type { DepartmentNode } from './node';
import type { ReadyReport } from './ready';

/** Why a listen address cannot be had, in the operator's terms. */
const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another dxg up of this department, or another program, listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
  ENOTFOUND: 'no such host',
};

/**
 * A department node's own HTTP endpoint (DESIGN §8): Prometheus `/metrics`, `/health` (the process
 * is up) and `/ready` (the node takes work). It listens before the node starts, so a taken port
 * fails the start at once, and answers "starting" until the node is there.
 */
export class NodeEndpoint {
  /** process metrics until the node is served, then the node's as well */
  private registry: Registry;
  private readonly processMetrics = new Registry();
  private node: DepartmentNode | null = null;

  private constructor(readonly department: string, private readonly server: Server) {
    this.processMetrics.setDefaultLabels({ department });
    collectDefaultMetrics({ register: this.processMetrics });
    this.registry = this.processMetrics;
  }

  static async listen(department: Department): Promise<NodeEndpoint> {
    const { host, port } = department.listen!;
    const server = createServer();
    const endpoint = new NodeEndpoint(department.id, server);
    server.on('request', (req, res) => void endpoint.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = LISTEN_PROBLEMS[err.code ?? ''] ?? errorMessage(err);
        reject(new DxgError('DXG_LISTEN', `department ${department.id}: cannot serve /metrics on ${host}:${port}: ${why}; set departments.${department.id}.listen to a free host:port, or to off`));
      });
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => log.warn('node endpoint error', { department: department.id, error: errorMessage(err) }));
    log.info('node endpoint listening', { department: department.id, url: endpoint.url });
    return endpoint;
  }

  get url(): string {
    const { address, port, family } = this.server.address() as AddressInfo;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }

  /** From now on /metrics and /ready are this node's. */
  serve(node: DepartmentNode): void {
    this.node = node;
    const merged = Registry.merge([this.processMetrics, node.metrics.registry]);
    merged.setDefaultLabels({ department: this.department });
    this.registry = merged;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // a scraper's keep-alive connection must not hold the drain
    await closed;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        return json(res, 405, { error: 'only GET and HEAD' });
      }
      if (path === '/metrics') {
        const text = await this.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.registry.contentType });
        return void res.end(text);
      }
      if (path === '/health') return json(res, 200, { status: 'up', department: this.department, uptimeSeconds: Math.round(process.uptime()) });
      if (path === '/ready') {
        const report: ReadyReport = this.node
          ? await this.node.readiness.check()
          : { ready: false, state: 'starting', database: false, broker: false, reason: 'the node is starting (connecting to its database and broker)' };
        return json(res, report.ready ? 200 : 503, { department: this.department, ...report, ...(report.reason ? { reason: maskText(report.reason) } : {}) });
      }
      return json(res, 404, { error: 'not found', paths: ['/metrics', '/health', '/ready'] });
    } catch (err) {
      log.warn('node endpoint request failed', { department: this.department, path, error: errorMessage(err) });
      if (!res.headersSent) json(res, 500, { error: maskText(errorMessage(err)) });
      else res.destroy();
    }
  }
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** The endpoints of the departments one `dxg up` runs: each on its own address, with its own registry. */
export class NodeEndpoints {
  private constructor(private readonly endpoints: Map<string, NodeEndpoint>) {}

  /** Listens for each department that has a listen address; a failure closes the ones already open. */
  static async open(config: ExchangeConfig, departments: readonly string[]): Promise<NodeEndpoints> {
    const open = new NodeEndpoints(new Map());
    try {
      for (const d of departments) {
        const department = config.departments.get(d)!;
        if (department.listen) open.endpoints.set(d, await NodeEndpoint.listen(department));
      }
    } catch (err) {
      await open.close();
      throw err;
    }
    return open;
  }

  serve(nodes: ReadonlyMap<string, DepartmentNode>): void {
    for (const [d, node] of nodes) this.endpoints.get(d)?.serve(node);
  }

  async close(): Promise<void> {
    await Promise.all([...this.endpoints.values()].map((e) => e.close()));
  }
}
