import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring } from '../../gateway/envelope/keys';
import { DXG, ROOT } from '../helpers/exchange';

describe('department keys', () => {
  it('are generated for one department on its own machine, private key readable by its owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dxg-keys-'));
    mkdirSync(join(dir, 'flows'));
    writeFileSync(join(dir, 'exchange.yaml'), `exchange: k\nbroker:\n  url: amqp://127.0.0.1\ndepartments:\n  amr:\n    database: { driver: postgres, url: "postgres://x/y" }\n  tax:\n    database: { driver: mysql, url: "mysql://x/y" }\nflows: flows\nschemas: ${join(ROOT, 'schemas')}\nkeys: keys\n`);
    const r = spawnSync(process.execPath, [DXG, '--config', join(dir, 'exchange.yaml'), 'keys', 'generate', '--department', 'tax'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(existsSync(join(dir, 'keys', 'tax.key'))).toBe(true);
    expect(existsSync(join(dir, 'keys', 'amr.key'))).toBe(false);
    expect(statSync(join(dir, 'keys', 'tax.key')).mode & 0o777).toBe(0o600);
    const unknown = spawnSync(process.execPath, [DXG, '--config', join(dir, 'exchange.yaml'), 'keys', 'generate', '--department', 'police'], { encoding: 'utf8' });
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('unknown department police (known: amr, tax)');
  });

  it('refuses a private key that others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dxg-keys-'));
    new Keyring(dir).generate(['amr']);
    chmodSync(join(dir, 'amr.key'), 0o644);
    expect(() => new Keyring(dir).sign('amr', 'x')).toThrow(`private key ${join(dir, 'amr.key')} can be read by others (mode 0644): only its department's node may read it (chmod 600 ${join(dir, 'amr.key')})`);
    chmodSync(join(dir, 'amr.key'), 0o600);
    expect(new Keyring(dir).sign('amr', 'x')).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});
