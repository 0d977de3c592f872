import type { Command } from 'commander';
import { formatProblem, sortProblems } from '../../config/problems';
import { checkSourceQueries } from '../../config/queries';
import { loadProject } from '../../config/project';
import { configFile, write } from '../context';
import { exchangeKeyring } from '../../envelope/keys';
import { checkGrants } from '../../grants/checks';
import { currentGovernance } from '../../grants/current';
import { count } from '../words';

export function registerValidate(program: Command): void {
  program
    .command('validate').alias('lint')
    .description('check the configuration, flows, indicator sets and catalog entries; problems as file:line:col: message')
    .action(async (_opts, cmd: Command) => {
      const loaded = loadProject(configFile(cmd));
      const { project } = loaded;
      const grants = project ? await currentGovernance(project, exchangeKeyring(project.config)) : null;
      const problems = sortProblems([...loaded.problems, ...(project ? await checkSourceQueries(project) : []), ...(project && grants ? checkGrants(project, grants) : [])]);
      if (grants?.note && grants.from === 'kept') process.stderr.write(`note: ${grants.note}\n`);
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (errors || !project) {
        process.stderr.write(`${count(errors, 'error')}, ${count(problems.length - errors, 'warning')}\n`);
        process.exitCode = 1;
        return;
      }
      const resources = new Set(project.flows.map((f) => f.resource));
      const granted = grants?.governance.governed ? `, every conditional target under a grant (grant list version ${grants.governance.version}${grants.from === 'kept' ? ', kept' : ''})` : '';
      write(`ok: ${count(project.config.departments.size, 'department')}, ${count(project.flows.length, 'flow')}, ${count(resources.size, 'indicator set')}${project.catalog ? `, ${count(project.catalog.length, 'catalog entry', 'catalog entries')}` : ''}${granted}${problems.length ? `, ${count(problems.length, 'warning')}` : ''}`);
    });
}
