import type { Row } from '../adapter';

/**
 * `mssql` publishes no type declarations (and `@types/mssql` is not a dependency): the part of its
 * API this adapter uses, typed once here so that the rest of the adapter stays strictly typed.
 */
export type SqlType = object;

export interface Result {
  /** the first result set; absent when the batch returned none */
  recordset?: Row[];
  recordsets: Row[][];
  rowsAffected: number[];
}

export interface Request {
  input(name: string, type: SqlType, value: unknown): Request;
  query(sql: string): Promise<Result>;
}

export interface Transaction {
  begin(): Promise<Transaction>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface ConnectionPool {
  connect(): Promise<ConnectionPool>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): ConnectionPool;
}

export interface PoolConfig {
  server: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  connectionTimeout: number;
  requestTimeout: number;
  pool: { max: number; min: number };
  options: { encrypt: boolean; trustServerCertificate: boolean; instanceName?: string; appName: string };
}

interface Driver {
  ConnectionPool: new (config: PoolConfig) => ConnectionPool;
  Transaction: new (pool: ConnectionPool) => Transaction;
  Request: new (parent: ConnectionPool | Transaction) => Request;
  MAX: number;
  NVarChar(length: number): SqlType;
  VarBinary(length: number): SqlType;
  Int: SqlType;
  BigInt: SqlType;
  Float: SqlType;
  Bit: SqlType;
}

export const driver: Driver = require('mssql');
