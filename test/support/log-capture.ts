import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from '../../src/adapters/logging/winston-logger.ts';
import type { Logger } from '../../src/shared/logger.port.ts';

/** The production logger (same formats, scope fields included), writing its JSON lines into `lines`. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('debug', 'test', new winston.transports.Stream({ stream })), lines };
}

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`). */
export const traceIdOf = (traceparent: unknown): string | undefined =>
  typeof traceparent === 'string' ? traceparent.split('-')[1] : undefined;

export const spanIdOf = (traceparent: unknown): string | undefined =>
  typeof traceparent === 'string' ? traceparent.split('-')[2] : undefined;
