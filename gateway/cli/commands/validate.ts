import type { Command } from 'commander';
import { formatProblem, sortProblems } from '../../config/problems';
import { checkSourceQueries } from '../../config/queries';
import { loadProject } from '../../config/project';
import { configFile, write } from '../context';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the configuration, flows, indicator sets and catalog entries; problems as file:line:col: message')
    .action(async (_opts, cmd: Command) => {
      const loaded = loadProject(configFile(cmd));
      const { project } = loaded;
      const problems = sortProblems([...loaded.problems, ...(project ? await checkSourceQueries(project) : [])]);
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (errors || !project) {
        process.stderr.write(`${errors} error(s), ${problems.length - errors} warning(s)\n`);
        process.exitCode = 1;
        return;
      }
      const resources = new Set(project.flows.map((f) => f.resource));
      write(`ok: ${project.config.departments.size} departments, ${project.flows.length} flows, ${resources.size} indicator sets${project.catalog ? `, ${project.catalog.length} catalog entries` : ''}${problems.length ? `, ${problems.length} warning(s)` : ''}`);
    });
}
