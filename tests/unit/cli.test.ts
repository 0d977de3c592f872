import { spawn, spawnSync } from 'node:child_process';
import { DXG, ROOT } from '../helpers/exchange';

/** The command line as a user meets it: the built `bin/dxg`, its exit code and what it prints. */
const dxg = (...args: string[]) => spawnSync(process.execPath, [DXG, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DXG_LOG_FORMAT: 'text' } });

describe('the command line', () => {
  it.each([
    [['audit', '--limit', '-1'], "option '--limit <n>' argument '-1' is invalid. must be a whole number from 1 to 10000000"],
    [['quarantine', '--limit', 'abc'], "option '--limit <n>' argument 'abc' is invalid. must be a whole number from 1 to 10000000"],
    [['replay', '--department', 'amr', '--id', '3', 'abc'], "option '--id <n...>' argument 'abc' is invalid. must be a whole number from 1 to"],
    [['run', '--once', '--timeout', '1.5'], "option '--timeout <seconds>' argument '1.5' is invalid"],
    [['run', '--once', '--wait', ''], "option '--wait <seconds>' argument '' is invalid"],
    [['demo', '--enterprises', '10'], "option '--enterprises <n>' argument '10' is invalid. must be a whole number from 200 to 1000000"],
    [['audit', '--no-such-option'], "unknown option '--no-such-option'"],
  ])('refuses %j with exit 64, naming the option, without a stack trace', (args, message) => {
    const r = dxg(...args);
    expect(r.status).toBe(64);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  });

  it('refuses an unknown output format with exit 64', () => {
    const r = dxg('quarantine', '--format', 'xml');
    expect(r.status).toBe(64);
    expect(r.stderr).toContain("--format must be table, json or csv, not 'xml'");
  });

  it('ends quietly when the reader of its output goes away (dxg … | head)', async () => {
    const child = spawn(process.execPath, [DXG, '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  });
});
