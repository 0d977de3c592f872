import staticFiles from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** Where `npm run build` puts the console: dist/console, whether this runs from dist/ or from the sources. */
export function consoleDir(): string {
  const root = resolve(__dirname, '..', '..');
  return basename(root) === 'dist' ? join(root, 'console') : join(root, 'dist', 'console');
}

/**
 * The web console (DESIGN §10) at `/`: static files built from console/, which use the public API
 * only — no power the API lacks. Without a build, `/` says how to make one.
 */
export async function serveConsole(app: FastifyInstance): Promise<void> {
  const dir = consoleDir();
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', { config: { roles: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.type('text/plain; charset=utf-8').code(503).send(`the console is not built (${dir}): run npm run build\n`));
    return;
  }
  await app.register(async (files) => {
    // the console's files are public (the API asks for the login); every other route needs one unless it says otherwise
    files.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), roles: 'public' } as typeof route.config;
    });
    // no caching: the files keep their names from one release to the next
    await files.register(staticFiles, { root: dir, prefix: '/', index: 'index.html', cacheControl: false });
  });
}
