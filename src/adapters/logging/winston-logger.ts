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

/** JSON lines on stderr, unless told where (tests read the lines back). */
export function createLogger(
  level: string,
  role: string,
  transport: winston.transport = new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }),
): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { role },
    format: winston.format.combine(withContext(), redactSecrets(), winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}
