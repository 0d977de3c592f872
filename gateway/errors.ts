/**
 * Errors the gateway raises on purpose carry a stable code (for scripts and docs) and, where known,
 * the place they are about: a `file:line:col`, a department, a flow.
 */
export type ErrorCode =
  | 'DXG_CONFIG'            // a config, flow or schema file is invalid
  | 'DXG_CATALOG'           // a table or column named in YAML is not in the database
  | 'DXG_DB'                // a database failed or is unreachable
  | 'DXG_BROKER'            // the broker failed or is unreachable
  | 'DXG_KEYS'              // a department key is missing or unusable
  | 'DXG_LISTEN'            // a node cannot serve its metrics endpoint on its listen address
  | 'DXG_CENTRE'            // the exchange centre is unreachable or refused a request
  | 'DXG_LOGIN'             // a command needs the centre and no valid login
  | 'DXG_FORBIDDEN'         // the centre's user may not do this (its role or department)
  | 'DXG_NOT_FOUND'         // the centre holds no such application, grant or resource
  | 'DXG_TIMEOUT'           // waiting for receipts took too long
  | 'DXG_USAGE';            // the command line was used wrongly

export class DxgError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly where?: string,
    options?: { cause?: unknown },
  ) {
    super(where ? `${where}: ${message}` : message, options);
    this.name = 'DxgError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(errorMessage).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
