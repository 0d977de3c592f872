/** A problem found in a file, reported to the user as `file:line:col: message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/** In file order; of several problems at one place, the first found (the most specific) is kept. */
export function sortProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const at = `${p.file}:${p.line}:${p.col}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
  return unique.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

export const hasErrors = (problems: Problem[]): boolean => problems.some((p) => p.severity === 'error');
