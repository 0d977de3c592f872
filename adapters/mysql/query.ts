import { Parser } from 'node-sql-parser/build/mariadb';
import { checkWithParser } from '../shared/select';

const parser = new Parser();

/** A source `query:` checked with a MySQL/MariaDB grammar: exactly one SELECT that neither writes nor locks. */
export const checkQuery = async (query: string): Promise<string | null> => checkWithParser(parser, query, 'MySQL/MariaDB');
