import { Parser } from 'node-sql-parser/build/transactsql';
import { checkWithParser } from '../shared/select';

const parser = new Parser();

/** A source `query:` checked with a Transact-SQL grammar: exactly one SELECT that neither writes nor locks. */
export const checkQuery = async (query: string): Promise<string | null> => checkWithParser(parser, query, 'SQL Server');
