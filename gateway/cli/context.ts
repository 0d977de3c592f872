import type { Command } from 'commander';
import { formatProblem, hasErrors } from '../config/problems';
import { loadProject, type Project } from '../config/project';
import { DxgError } from '../errors';

/** The `--config` given to the program (commander keeps global options on the root). */
export function configFile(cmd: Command): string {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<{ config: string }>().config;
}

/** Loads and checks everything; prints warnings, and fails with the problems if there is an error. */
export function project(cmd: Command): Project {
  const file = configFile(cmd);
  const { project, problems } = loadProject(file);
  const warnings = problems.filter((p) => p.severity === 'warning');
  for (const w of warnings) process.stderr.write(`${formatProblem(w)}\n`);
  if (!project || hasErrors(problems)) {
    throw new DxgError('DXG_CONFIG', `the configuration has errors (dxg validate lists them):\n${problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`);
  }
  return project;
}

export function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

