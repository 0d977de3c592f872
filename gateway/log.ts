import winston from 'winston';
import { maskDeep, maskText } from './mask';

/**
 * Operational log: JSON lines when not on a terminal (production, CI), readable lines on a terminal.
 * Everything passes the mask, so identity numbers and passwords never reach the log.
 */
const LEVEL = Symbol.for('level');
/** The longest text one log field holds: a reason or header a hostile sender made huge is cut (and masked in bounded time). */
const FIELD_LIMIT = 2000;
const masking = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    (info as Record<string, unknown>)[key] = key === 'message'
      ? maskText(String(info.message), FIELD_LIMIT)
      : maskDeep((info as Record<string, unknown>)[key], 0, FIELD_LIMIT);
  }
  return info;
});

function format(): winston.Logform.Format {
  const json = process.env.DXG_LOG_FORMAT === 'json' || (!process.stderr.isTTY && process.env.DXG_LOG_FORMAT !== 'text');
  if (json) return winston.format.combine(masking(), winston.format.timestamp(), winston.format.json());
  return winston.format.combine(
    masking(),
    winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
    // colours only for a terminal: text logs sent to a file stay plain
    ...(process.stderr.isTTY ? [winston.format.colorize()] : []),
    winston.format.printf((info) => {
      const { timestamp, level, message, ...rest } = info as Record<string | symbol, unknown>;
      delete rest[LEVEL as unknown as string];
      const meta = Object.entries(rest)
        .filter(([k]) => typeof k === 'string' && k !== 'splat')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      return `${timestamp} ${level} ${message}${meta ? ' ' + meta : ''}`;
    }),
  );
}

export const log = winston.createLogger({
  level: process.env.DXG_LOG_LEVEL ?? 'info',
  format: format(),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
});

export type Logger = winston.Logger;
