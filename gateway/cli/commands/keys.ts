import type { Command } from 'commander';
import { Keyring } from '../../envelope/keys';
import { loadExchange } from '../../config/exchange';
import { formatProblem } from '../../config/problems';
import { DxgError } from '../../errors';
import { configFile, project, write } from '../context';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { Broker } from '../../broker/connection';
import { departmentUrl } from '../../broker/credentials';
import { Publisher } from '../../broker/publisher';
import { Topology } from '../../broker/topology';
import { requireKnown, type Project } from '../../config/project';
import { announced, keyId, type KeyAnnouncement } from '../../envelope/key-list';
import { publishFeedEvent } from '../../ledger/feed';
import { centreCall } from '../../centre/client';
import { sleep } from '../../time';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('department signing keys (Ed25519)');
  keys
    .command('generate')
    .description("create the key pairs that are missing, one per department (or only D's: on a department's own machine)")
    .option('-d, --department <id...>', 'only these departments')
    .action((opts: { department?: string[] }, cmd: Command) => {
      const { doc, config } = loadExchange(configFile(cmd));
      if (!config) throw new DxgError('DXG_CONFIG', doc.problems.map(formatProblem).join('\n'));
      const unknown = (opts.department ?? []).filter((d) => !config.departments.has(d));
      if (unknown.length) throw new DxgError('DXG_USAGE', `unknown department ${unknown.join(', ')} (known: ${[...config.departments.keys()].join(', ')})`);
      const wanted = opts.department ?? [...config.departments.keys()];
      const keyring = new Keyring(config.dirs.keys);
      const created = keyring.generate(wanted);
      for (const d of wanted) write(`${d}: ${created.includes(d) ? 'created' : 'exists'} (${config.dirs.keys}/${d}.key, .pub)`);
    });

  keys
    .command('register')
    .description("send the department's public key to the exchange centre's key registry, as the department over the broker (its first key; later ones: dxg keys rotate)")
    .requiredOption('-d, --department <id>', 'the department whose key it is (this machine holds its private key)')
    .option('--wait <seconds>', "how long to wait for the registry's answer (0: send and do not wait)", '30')
    .action(async (opts: { department: string; wait: string }, cmd: Command) => {
      const p = project(cmd);
      requireKnown(p, { department: [opts.department] });
      const keyring = new Keyring(p.config.dirs.keys);
      const publicKey = readFileSync(keyring.file(opts.department, 'pub'), 'utf8');
      const text = announced(opts.department, keyId(publicKey));
      await announce(p, opts.department, { publicKey, proof: keyring.sign(opts.department, text) }, waitSeconds(opts.wait));
    });
  keys
    .command('rotate')
    .description('make a new key pair (<d>.next.key), endorsed by the current key, and register it at the centre; the node signs with it once the key list names it valid, and the old key stays valid through an overlap')
    .requiredOption('-d, --department <id>', 'the department whose key is rotated')
    .option('--wait <seconds>', "how long to wait for the registry's answer (0: send and do not wait)", '30')
    .action(async (opts: { department: string; wait: string }, cmd: Command) => {
      const p = project(cmd);
      requireKnown(p, { department: [opts.department] });
      const keyring = new Keyring(p.config.dirs.keys);
      const d = opts.department;
      if (!existsSync(keyring.file(d, 'next.key'))) {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        writeFileSync(keyring.file(d, 'next.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        chmodSync(keyring.file(d, 'next.key'), 0o600);
        writeFileSync(keyring.file(d, 'next.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      }
      const publicKey = readFileSync(keyring.file(d, 'next.pub'), 'utf8');
      const text = announced(d, keyId(publicKey));
      const proof = sign(null, Buffer.from(text), createPrivateKey(readFileSync(keyring.file(d, 'next.key'), 'utf8'))).toString('base64');
      write(`${d}: new key ${keyId(publicKey).slice(0, 16)}… in ${keyring.file(d, 'next.key')}, endorsed by the current key`);
      await announce(p, d, { publicKey, proof, endorsement: keyring.sign(d, text) }, waitSeconds(opts.wait));
    });
}

function waitSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new DxgError('DXG_USAGE', `--wait ${text}: not a number of seconds`);
  return n;
}

/**
 * A key announcement on the audit feed, as the department's own broker user (the registry believes
 * the broker's validated user-id); then, for up to `waitSeconds`, the registry's answer: a refusal, or
 * no answer at all, fails the command.
 */
async function announce(p: Project, department: string, announcement: KeyAnnouncement, waitSeconds: number): Promise<void> {
  if (!p.config.centre) throw new DxgError('DXG_CONFIG', `${p.config.doc.display} names no centre: keys are then exchanged as files in ${p.config.dirs.keys}`);
  const topology = Topology.of(p.config);
  const user = topology.user(department);
  const broker = await Broker.connect(departmentUrl(p.config, department, user), `keys ${department}`, false, p.config.broker.ca);
  const publisher = new Publisher(broker, user);
  try {
    await publisher.start();
    await publishFeedEvent(publisher, topology, { type: 'key', department, announcement }, `${department}:key:${keyId(announcement.publicKey)}`);
  } finally {
    await publisher.stop();
    await broker.close();
  }
  const id = keyId(announcement.publicKey);
  const url = p.config.centre.url;
  if (waitSeconds === 0) {
    write(`${department}: key ${id.slice(0, 16)}… sent to the centre's registry; its answer: ${url}/api/keys/announcements/${department}/${id}`);
    return;
  }
  const deadline = Date.now() + waitSeconds * 1000;
  let unreachable: unknown = null;
  for (;;) {
    try {
      const v = await centreCall<{ state: string; reason?: string }>(url, `/api/keys/announcements/${encodeURIComponent(department)}/${id}`, { token: null, timeoutMs: 10_000 });
      unreachable = null;
      if (v.state === 'listed') return write(`${department}: key ${id.slice(0, 16)}… registered: the centre's key list names it, and every node takes it with the next list`);
      if (v.state === 'refused') throw new DxgError('DXG_KEYS', `${department}: the centre's registry refused key ${id.slice(0, 16)}…: ${v.reason ?? 'no reason given'}`);
    } catch (err) {
      if (err instanceof DxgError && err.code === 'DXG_KEYS') throw err;
      unreachable = err;
    }
    if (Date.now() > deadline) {
      throw new DxgError('DXG_CENTRE', `${department}: key ${id.slice(0, 16)}… was sent, but the centre's registry did not answer within ${waitSeconds} s${unreachable ? ` (${(unreachable as Error).message})` : ' (is dxg centre running and collecting the feed?)'}; it answers once it takes the announcement: ${url}/api/keys/announcements/${department}/${id}`);
    }
    await sleep(500);
  }
}
