import type { Command } from 'commander';
import { formatProblem, sortProblems } from '../../config/problems';
import { checkSourceQueries } from '../../config/queries';
import { loadProject } from '../../config/project';
import { configFile, write } from '../context';
import { exchangeKeyring } from '../../envelope/keys';
import { checkGrants } from '../../grants/checks';
import { currentGovernance } from '../../grants/current';

export function registerValidate(program: Command): void {
  program
    .command('validate')
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
        process.stderr.write(`${errors} error(s), ${problems.length - errors} warning(s)\n`);
        process.exitCode = 1;
        return;
      }
      const resources = new Set(project.flows.map((f) => f.resource));
      const granted = grants?.governance.governed ? `, every conditional target under a grant (grant list version ${grants.governance.version}${grants.from === 'kept' ? ', kept' : ''})` : '';
      write(`ok: ${project.config.departments.size} departments, ${project.flows.length} flows, ${resources.size} indicator sets${project.catalog ? `, ${project.catalog.length} catalog entries` : ''}${granted}${problems.length ? `, ${problems.length} warning(s)` : ''}`);
    });
}
