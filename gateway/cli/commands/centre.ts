import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { connect } from '../../../adapters';
import { createCentreSchema } from '../../centre/schema';
import { Journal } from '../../centre/journal';
import { listUsers, putUser, removeUser, ROLES, type Role } from '../../centre/users';
import { CENTRE } from '../../config/duration';
import { exchangeKeyring } from '../../envelope/keys';
import type { Project } from '../../config/project';
import { requireKnown } from '../../config/project';
import { DxgError } from '../../errors';
import { log } from '../../log';
import { project, write } from '../context';
import { readSecret } from '../secret-input';
import { renderTable } from '../table';

export function registerCentre(program: Command): void {
  const centre = program
    .command('centre')
    .description('run the exchange centre until stopped (SIGTERM stops it cleanly): collects every ledger, watches the nodes, serves the API')
    .action(async (_opts, cmd: Command) => {
      const p = project(cmd);
      // listening before the start: a SIGTERM that comes while it starts (once /ready answers, say) stops it cleanly
      let signalled: NodeJS.Signals | null = null;
      let onSignal = (signal: NodeJS.Signals) => {
        // a second signal while it starts (a start that waits for its database, say) ends it at once
        if (signalled) process.exit(1);
        signalled = signal;
      };
      const listener = (signal: NodeJS.Signals) => onSignal(signal);
      process.on('SIGTERM', listener);
      process.on('SIGINT', listener);
      // loaded here, not with the command line: its HTTP server and console cost every other dxg command a third of a second
      const { Centre } = await import('../../centre/service');
      const service = await Centre.start(p);
      await new Promise<void>((resolve) => {
        let stopping = false;
        onSignal = (signal) => {
          if (stopping) process.exit(0);
          stopping = true;
          log.info('centre stopping', { signal });
          service.stop().catch((err) => {
            log.error('centre stop failed', { error: String(err) });
          }).then(resolve, resolve);
        };
        if (signalled) onSignal(signalled);
      });
      log.info('centre stopped');
    });

  const users = centre.command('users').description("the centre's users: auditor (reads), operator (also acts on nodes), approver (answers for one department)");
  users
    .command('add <name>')
    .description('create a user, or give an existing one a new role and password, ending its logins (the password is read from standard input, or generated and printed once); recorded in the centre journal')
    .requiredOption('-r, --role <role>', `${ROLES.join(', ')}`)
    .option('-d, --department <id>', "an approver's department")
    .option('--generate', 'generate a password and print it once, instead of reading one')
    .action(async (name: string, opts: { role: string; department?: string; generate?: boolean }, cmd: Command) => {
      if (!ROLES.includes(opts.role as Role)) throw new DxgError('DXG_USAGE', `--role must be one of: ${ROLES.join(', ')}, not '${opts.role}'`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/.test(name)) throw new DxgError('DXG_USAGE', `user name '${name}': letters, digits, _ . @ - (at most 100)`);
      const p = project(cmd);
      requireKnown(p, { department: opts.department });
      const password = opts.generate ? randomBytes(12).toString('base64url') : await readSecret(`password for ${name}: `);
      const role = `${opts.role}${opts.department ? ` of ${opts.department}` : ''}`;
      const existed = await withCentreDb(p, async (db, journal) => {
        const was = await putUser(db, { name, role: opts.role as Role, department: opts.department ?? null }, password);
        await journal.record(OPERATOR_AT_CENTRE, was ? 'user changed' : 'user added', `${name}: ${role}`, was ? 'a new role and password; its logins ended' : null);
        return was;
      });
      write(`user ${name}${existed ? ' (was there: its logins ended)' : ''}: ${role}${opts.generate ? `; password: ${password}` : ''}`);
    });
  users
    .command('remove <name>')
    .description('remove a user: its logins end at once')
    .action(async (name: string, _opts, cmd: Command) => {
      const removed = await withCentreDb(project(cmd), async (db, journal) => {
        const was = await removeUser(db, name);
        if (was) await journal.record(OPERATOR_AT_CENTRE, 'user removed', name, null);
        return was;
      });
      if (!removed) throw new DxgError('DXG_USAGE', `no user '${name}' at the centre (dxg centre users list)`);
      write(`user ${name} removed; its logins ended`);
    });
  users
    .command('list')
    .description('the users and their roles')
    .action(async (_opts, cmd: Command) => {
      const rows = await withCentreDb(project(cmd), (db) => listUsers(db));
      write(renderTable(['name', 'role', 'department'], rows.map((u) => [u.name, u.role, u.department ?? ''])));
    });
}

/** Who the journal names for a change made on the centre's machine (the command line has no login there). */
const OPERATOR_AT_CENTRE = `${CENTRE} (command line)`;

/** The centre's database and journal, on the centre's machine (its key signs the journal). */
async function withCentreDb<T>(p: Project, fn: (db: Awaited<ReturnType<typeof connect>>, journal: Journal) => Promise<T>): Promise<T> {
  const centre = p.config.centre;
  if (!centre) throw new DxgError('DXG_CONFIG', `${p.config.doc.display} names no centre: add centre: (docs/centre.md)`);
  const db = await connect(centre.database, 'centre');
  try {
    await createCentreSchema(db);
    const keyring = exchangeKeyring(p.config);
    // as the centre's first start would: the journal is signed with the centre's key
    if (keyring.generate([CENTRE]).length) log.info('the centre\'s key pair was created', { dir: p.config.dirs.keys });
    return await fn(db, new Journal(db, keyring));
  } finally {
    await db.close();
  }
}
