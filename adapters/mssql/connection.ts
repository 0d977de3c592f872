import type { Row, SqlExecutor } from '../adapter';
import { render, type Sql } from '../sql';
import type { Request, Result } from './driver';
import { mssqlSql } from './sql';
import { sqlParam } from './values';

/** Runs the engine's own SQL whose parameters are named `@p1, @p2, …`, bound from `params` in order. */
export interface Runner {
  run(sql: string, params?: readonly unknown[]): Promise<Result>;
}

export function run(request: Request, sql: string, params: readonly unknown[]): Promise<Result> {
  params.forEach((value, i) => {
    const p = sqlParam(value);
    request.input(`p${i + 1}`, p.type, p.value);
  });
  return request.query(sql);
}

export async function rows<T extends Row = Row>(runner: Runner, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  return ((await runner.run(sql, params)).recordset ?? []) as T[];
}

/** Runs statements rendered with `@pN` placeholders on a runner (the pool, or one transaction). */
export class MssqlExecutor implements SqlExecutor {
  constructor(readonly runner: Runner) {}

  query<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text, params } = render(statement, mssqlSql.renderer);
    return rows<T>(this.runner, text, params);
  }

  async execute(statement: Sql): Promise<number> {
    const { text, params } = render(statement, mssqlSql.renderer);
    return (await this.runner.run(text, params)).rowsAffected.reduce((sum, n) => sum + n, 0);
  }
}
