import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between a node and its database. `cut()` is a network outage as the node sees it:
 * every open connection is reset and new ones are reset on arrival, while the database itself stays
 * up for everybody else; `restore()` ends it.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  private armed: { pattern: Buffer; fired: () => void } | null = null;
  refused = 0;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(host: string, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, host, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get isDown(): boolean {
    return this.down;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.down) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      const armed = this.armed;
      if (armed && chunk.includes(armed.pattern)) {
        // the statement reaches the server; its answer never reaches the client
        this.armed = null;
        upstream.unpipe(client);
        setTimeout(() => {
          client.resetAndDestroy();
          upstream.destroy();
          armed.fired();
        }, 300);
      }
    });
  }

  /**
   * The next statement containing `pattern` (e.g. COMMIT) is delivered to the database, then that
   * connection is reset before the answer gets back: the work is done, the client cannot know it.
   * Resolves once it happened.
   */
  cutAtNext(pattern: string): Promise<void> {
    return new Promise((resolve) => {
      this.armed = { pattern: Buffer.from(pattern), fired: resolve };
    });
  }

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
