import { randomBytes } from 'node:crypto';
import { isUuid } from '../../shared/id.ts';
import { requestScope } from '../logging/request-scope.ts';

/**
 * W3C Trace Context (`traceparent`) without a tracing library: enough to keep one trace id across the gateway,
 * the order service and its calls to the product service, for whoever collects the logs and spans later.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export interface TraceParent {
  traceId: string;
  parentId: string;
  flags: string;
}

/** The parts of a well-formed version-00 traceparent; null for anything else (all-zero ids are invalid). */
export function parseTraceparent(value: string | undefined): TraceParent | null {
  const match = value === undefined ? null : TRACEPARENT.exec(value.trim());
  if (!match || ZEROS.test(match[1]!) || ZEROS.test(match[2]!)) return null;
  return { traceId: match[1]!, parentId: match[2]!, flags: match[3]! };
}

/**
 * Random hex from a pool filled 4 KiB at a time: one call into the CSPRNG per ~170 trace ids instead of two
 * per id (it showed in the gateway's profile, where every request without a traceparent starts a trace).
 */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;
function hex(bytes: number): string {
  let text: string;
  // W3C forbids all-zero ids (one chance in 2^64 for a span id, but cheap to rule out).
  do {
    if (offset + bytes > pool.length) {
      pool = randomBytes(POOL_SIZE);
      offset = 0;
    }
    offset += bytes;
    text = pool.toString('hex', offset - bytes, offset);
  } while (ZEROS.test(text));
  return text;
}

/** A traceparent for a new span: in the given one's trace when it is valid, else in a new (sampled) trace. */
export function childTraceparent(parent?: string): string {
  const parsed = parseTraceparent(parent);
  return `00-${parsed?.traceId ?? hex(16)}-${hex(8)}-${parsed?.flags ?? '01'}`;
}

/** The traceparent of the request being handled (set by the edge's trace step), if any. */
export const currentTraceparent = (): string | undefined => requestScope.getStore()?.traceparent;

/**
 * The traceparent of an event that carries none (made outside any trace, or an outbox row older than the
 * field): a UUID correlation id is the trace id (dashes removed), so every event of one request shares a
 * trace; anything else gets a random one. The span id is new every time.
 */
export function traceparentForCorrelation(correlationId: string): string {
  const traceId = isUuid(correlationId) ? correlationId.replaceAll('-', '').toLowerCase() : hex(16);
  return `00-${traceId}-${hex(8)}-01`;
}

/** The trace an event continues: its own traceparent when well-formed, else one derived from its correlation id. */
export const eventTraceparent = (traceparent: string | undefined, correlationId: string): string =>
  traceparent !== undefined && parseTraceparent(traceparent) !== null
    ? traceparent.trim()
    : traceparentForCorrelation(correlationId);
