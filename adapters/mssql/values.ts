import { driver, type SqlType } from './driver';
import { allOf, decimalCheck, fractionCheck, type ValueCheck } from '../shared/exact';

/** `decimal(18,2)` → `decimal` */
export const baseType = (type: string): string => type.replace(/\(.*$/, '').trim().toLowerCase();

export const isRowversion = (type: string): boolean => ['rowversion', 'timestamp'].includes(baseType(type));

/**
 * How a column is selected so that its value reaches the core exactly: tedious turns temporal values
 * into JS Dates (milliseconds, shifted by time zone) and decimals and money into floats. Style 121 writes
 * every fractional digit the type stores (7 for datetime2(7), 3 for datetime); STUFF puts the ISO `T`
 * in place of the space, and for datetimeoffset the space before the offset goes.
 */
export function readExpression(column: string, type: string): string {
  switch (baseType(type)) {
    case 'date':
      return `CONVERT(varchar(10), ${column}, 23)`;
    case 'datetime':
    case 'smalldatetime':
    case 'datetime2':
      return `STUFF(CONVERT(varchar(27), ${column}, 121), 11, 1, 'T')`;
    case 'datetimeoffset':
      return `REPLACE(STUFF(CONVERT(varchar(34), ${column}, 121), 11, 1, 'T'), ' ', '')`;
    case 'time':
      return `CONVERT(varchar(16), ${column}, 121)`;
    case 'decimal':
    case 'numeric':
      return `CAST(${column} AS varchar(48))`;
    case 'money':
    case 'smallmoney':
      return `CONVERT(varchar(32), ${column}, 2)`; // style 2: all four decimals, no thousands separators
    case 'bigint':
      return `CAST(${column} AS varchar(20))`;
    case 'rowversion':
    case 'timestamp':
      return `CAST(CAST(${column} AS bigint) AS varchar(20))`;
    default:
      return column;
  }
}

/**
 * A rowversion as the core sees it (decimal text) back into the 8 big-endian bytes SQL Server compares:
 * compared with text, the binary column would be converted to text, not the text to a number.
 */
export function rowversionBytes(value: unknown): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value as string));
  return bytes;
}

/**
 * The declared type of a parameter, from its JS value. Strings up to 4000 characters are declared
 * nvarchar(4000), one declaration for every length, so that the server reuses the plan. NULL is declared
 * varbinary: varbinary converts implicitly to the nvarchar, int, bigint, bit and varbinary columns the
 * core writes, while an nvarchar NULL cannot go into a varbinary column (error 257).
 */
export function sqlParam(value: unknown): { type: SqlType; value: unknown } {
  if (value === null || value === undefined) return { type: driver.VarBinary(1), value: null };
  if (typeof value === 'string') return { type: driver.NVarChar(value.length <= 4000 ? 4000 : driver.MAX), value };
  if (typeof value === 'boolean') return { type: driver.Bit, value };
  if (typeof value === 'bigint') return { type: driver.BigInt, value };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return { type: driver.Float, value };
    return { type: Math.abs(value) < 2 ** 31 ? driver.Int : driver.BigInt, value };
  }
  if (Buffer.isBuffer(value)) return { type: driver.VarBinary(driver.MAX), value };
  throw new TypeError(`cannot pass a ${value?.constructor?.name ?? typeof value} to SQL Server`);
}

/**
 * What a value must satisfy to be stored unchanged in a column of this type (see shared/exact).
 * `datetime` keeps time in 1/300 s steps: only milliseconds ending in 0, 3 or 7 survive as written;
 * `smalldatetime` keeps whole minutes.
 */
export function valueCheck(type: string): ValueCheck | null {
  const decimal = /^(?:decimal|numeric)\((\d+),(\d+)\)/i.exec(type);
  if (decimal) return decimalCheck(Number(decimal[1]), Number(decimal[2]), type);
  const time = /^(?:datetime2|datetimeoffset|time)(?:\((\d)\))?/i.exec(type);
  if (time) return fractionCheck(time[1] ? Number(time[1]) : 7, type);
  const base = baseType(type);
  if (base === 'datetime') return allOf(fractionCheck(3, type), (v) => (typeof v === 'string' && /:\d{2}\.\d{2}[124568]0*(?:[+\-Zz]|$)/.test(v) ? `${v} is between the 1/300 s steps that ${type} keeps, so it would be rounded` : null));
  if (base === 'smalldatetime') return (v) => (typeof v === 'string' && /T\d{2}:\d{2}:(?!00(?:\.0*)?(?:[+\-Zz]|$))/.test(v) ? `${v} has seconds; ${type} keeps whole minutes` : null);
  return null;
}
