import winston from 'winston';
import type { Logger } from '../../shared/logger.port.ts';
import { requestScope } from './request-scope.ts';

const withContext = winston.format((info) => Object.assign(info, requestScope.getStore() ?? {}));

const SECRET_FIELDS = /pass(word)?|secret|token|authorization|api[-_]?key/i;

/** A last line of defence: fields that look like secrets never reach the log, whatever the caller passed. */
const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) if (SECRET_FIELDS.test(key)) info[key] = '***';
  return info;
});

export function createLogger(level: string, role: string): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { role },
    format: winston.format.combine(withContext(), redactSecrets(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
