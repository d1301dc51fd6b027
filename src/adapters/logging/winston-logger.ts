import winston from 'winston';
import type { Logger } from '../../shared/logger.port.ts';
import { requestScope } from './request-scope.ts';

/** Every line carries the scope it was written in: a request's ids, or an event's while a consumer handles it. */
const withContext = winston.format((info) => Object.assign(info, requestScope.getStore() ?? {}));

const SECRET_FIELDS = /pass(word)?|secret|token|authorization|api[-_]?key/i;

/** A last line of defence: fields that look like secrets never reach the log, whatever the caller passed. */
const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) if (SECRET_FIELDS.test(key)) info[key] = '***';
  return info;
});

const ignore = () => {};

/**
 * JSON lines on stderr, unless told where (tests read the lines back). Levels below the configured one are
 * no-ops decided once, here: winston formats a line (scope, redaction, timestamp, JSON) before its
 * transports drop it by level, which cost every sync order ~35 µs for a `debug` line nobody would see.
 */
export function createLogger(
  level: string,
  role: string,
  transport: winston.transport = new winston.transports.Console({
    stderrLevels: ['error', 'warn', 'info', 'http', 'debug'],
  }),
): Logger {
  const logger = winston.createLogger({
    level,
    defaultMeta: { role },
    format: winston.format.combine(withContext(), redactSecrets(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
  const at = (name: 'error' | 'warn' | 'info' | 'http' | 'debug') =>
    logger.isLevelEnabled(name) ? (message: string, meta?: object) => void logger.log(name, message, meta) : ignore;
  return { error: at('error'), warn: at('warn'), info: at('info'), http: at('http'), debug: at('debug') };
}
