import type { Problem } from '../config/problems';
import type { Project } from '../config/project';
import type { CurrentGovernance } from './current';

/**
 * `dxg validate` in a governed exchange: a target of a conditional resource without an approved,
 * unexpired grant covering its department and every indicator it maps is an error at the target's
 * line. Where the list is not the centre's answer of now, each message says so, short; the note that
 * says why is printed once before them.
 */
export function checkGrants(project: Project, { governance, from }: CurrentGovernance): Problem[] {
  if (!governance.governed) return [];
  // the note itself is printed once, above the problems
  const which = from === 'centre' ? '' : governance.grantList ? ' [by the kept grant list: see the note above]' : ' [no grant list at hand: see the note above]';
  return governance.uncovered(project.flows).map(({ flow, target: t, problem }) => ({
    file: flow.doc.display, ...flow.doc.position(['targets', t.index, 'department']), message: `target ${t.department}: ${problem}${which}`, severity: 'error',
  }));
}
