import { execFile } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../gateway/time';
import { ROOT } from '../helpers/exchange';

const run = promisify(execFile);

/**
 * The gateway as built when the suite starts (bin/ and dist/ copied aside), so that the nodes it
 * kills and restarts for minutes run one build, even while somebody rebuilds the working tree.
 */
export interface GatewayCopy {
  /** the copied bin/dxg */
  dxg: string;
  /** environment for running it: NODE_PATH finds the project's node_modules */
  env: NodeJS.ProcessEnv;
}

export async function copyGateway(dir: string): Promise<GatewayCopy> {
  const env = { ...process.env, NODE_PATH: join(ROOT, 'node_modules') };
  for (let attempt = 1; ; attempt++) {
    mkdirSync(dir, { recursive: true });
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    const dxg = join(dir, 'bin', 'dxg');
    try {
      // a copy taken in the middle of a rebuild does not load: take it again
      await run(process.execPath, [dxg, '--help'], { env });
      return { dxg, env };
    } catch (err) {
      if (attempt >= 5) throw new Error(`the copied gateway does not run: ${(err as Error).message}`);
      await sleep(2000);
    }
  }
}
