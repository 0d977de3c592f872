import { checkSourceQuery } from '../../adapters';
import type { Problem } from './problems';
import type { Project } from './project';

/**
 * Every source `query:` checked with a real parser of its department's SQL dialect: one SELECT
 * statement that neither writes nor locks. A problem at the query's line otherwise. (Nodes check
 * again before they ever run one: see CatalogReader.describeQuery.)
 */
export async function checkSourceQueries(project: Project): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const flow of project.flows) {
    if (flow.source.query === undefined) continue;
    const { driver } = project.config.departments.get(flow.source.department)!.database;
    const problem = await checkSourceQuery(driver, flow.source.query);
    if (problem) problems.push({ file: flow.doc.display, ...flow.doc.position(['source', 'query']), message: `source.query ${problem}`, severity: 'error' });
  }
  return problems;
}
