import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Document, isMap, isScalar, isSeq, LineCounter, Node, parseDocument, visit } from 'yaml';
import type { Problem } from './problems';

export type PathSegment = string | number;

/** Alias expansions one file may make: enough for any config, far too few for a billion laughs. */
const MAX_ALIASES = 100;

/**
 * One YAML (or JSON, a YAML subset) file kept with its syntax tree, so that any value can be
 * traced back to its line and column for error messages.
 */
export class SourceDocument {
  readonly problems: Problem[] = [];
  private readonly lines = new LineCounter();
  private readonly doc: Document;

  private constructor(readonly path: string, readonly display: string, readonly text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    // YAML would also take a trailing comma, single quotes or a comment: a .json file must be JSON
    const invalid = path.endsWith('.json') ? jsonError(text) : null;
    if (invalid) {
      this.problems.push({ file: display, ...linePos(text, invalid.offset), message: `invalid JSON: ${invalid.message}`, severity: 'error' });
      return;
    }
    for (const e of this.doc.errors) this.problemAtOffset(e.pos[0], yamlMessage(e.message));
    for (const w of this.doc.warnings) this.problemAtOffset(w.pos[0], yamlMessage(w.message), 'warning');
    if (this.ok) this.checkAliases();
  }

  /** Aliases that expand into more than MAX_ALIASES copies (an alias bomb) make the file unusable, at the first alias. */
  private checkAliases(): void {
    try {
      this.doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      let offset = 0;
      visit(this.doc, {
        Alias: (_key, node) => {
          offset = node.range?.[0] ?? 0;
          return visit.BREAK;
        },
      });
      this.problemAtOffset(offset, `aliases expand too often (${yamlMessage((err as Error).message)}); at most ${MAX_ALIASES} alias expansions are allowed`);
    }
  }

  static read(path: string, cwd = process.cwd()): SourceDocument {
    const display = relative(cwd, path) || path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const doc = new SourceDocument(path, display, '');
      doc.problems.push({ file: display, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}`, severity: 'error' });
      return doc;
    }
    return new SourceDocument(path, display, text);
  }

  static fromText(path: string, text: string, display = path): SourceDocument {
    return new SourceDocument(path, display, text);
  }

  get ok(): boolean {
    return !this.problems.some((p) => p.severity === 'error');
  }

  /**
   * Replaces `${VAR}` and `${VAR:-default}` in string scalars from the environment; an unset
   * variable without a default is a problem at its own position.
   */
  interpolate(env: NodeJS.ProcessEnv = process.env): void {
    visit(this.doc, {
      Scalar: (_key, node) => {
        if (typeof node.value !== 'string' || !node.value.includes('${')) return;
        node.value = node.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, dflt?: string) => {
          const v = env[name];
          if (v !== undefined && v !== '') return v;
          if (dflt !== undefined) return dflt;
          this.problemAtOffset(node.range?.[0] ?? 0, `environment variable ${name} is not set and has no default (write \${${name}:-default} to give one)`);
          return '';
        });
      },
    });
  }

  value(): unknown {
    return this.doc.toJS({ maxAliasCount: MAX_ALIASES });
  }

  /** Line and column of the value (or, with `key`, of the key) at a path; the nearest existing ancestor otherwise. */
  position(path: readonly PathSegment[], which: 'value' | 'key' = 'value'): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        if (last && which === 'key') {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        node = pair.value;
        offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        offset = rangeStart(node) ?? offset;
      } else break;
    }
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  /** `file:line:col` of a path, for messages raised far from the loader (catalog checks, runtime). */
  at(path: readonly PathSegment[], which: 'value' | 'key' = 'value'): string {
    const { line, col } = this.position(path, which);
    return `${this.display}:${line}:${col}`;
  }

  problem(path: readonly PathSegment[], message: string, severity: Problem['severity'] = 'error', which: 'value' | 'key' = 'value'): void {
    const { line, col } = this.position(path, which);
    this.problems.push({ file: this.display, line, col, message, severity });
  }

  private problemAtOffset(offset: number, message: string, severity: Problem['severity'] = 'error'): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.display, line, col, message, severity });
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}

/** Where and why strict JSON parsing fails, or null. */
function jsonError(text: string): { offset: number; message: string } | null {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
    return null;
  } catch (err) {
    const message = (err as Error).message;
    const at = / in JSON at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) + (text.startsWith('\uFEFF') ? 1 : 0) : text.length;
    return { offset, message: message.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of file') };
  }
}

function linePos(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

/** The yaml package appends its own position and a code excerpt; we report positions ourselves. */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}
