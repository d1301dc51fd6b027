import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ClientBodyError } from './upstream-errors.ts';

/**
 * The body of a proxied request, and whether a second attempt on another instance can send it again.
 *
 * - No body: any attempt can be repeated.
 * - A retryable write (POST with an Idempotency-Key) is read into memory first, up to the body limit (1 MiB
 *   by default, the services' own limit, so nothing a service would accept is refused), so that a retry can
 *   send it again. Such bodies are small (an order); streaming them would make the retry impossible once
 *   the first instance had read a byte, which is exactly when a retry is wanted.
 * - Every other body is streamed as it comes, never held. It can be sent again only if the first attempt
 *   never read a byte of it (no connection was made, or the breaker refused), which is all that is wanted:
 *   a write that may have reached an instance is never retried.
 */
export interface UpstreamBody {
  /** The body to give one attempt (an attempt that never starts reading it leaves it untouched). */
  forAttempt(): Buffer | Readable | null;
  /** Whether another attempt could send the whole body again. */
  readonly replayable: boolean;
}

export const NO_BODY: UpstreamBody = { forAttempt: () => null, replayable: true };

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`the request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** Reads the whole body, refusing (before reading, when it says so) one larger than `limit`. */
export async function bufferedBody(req: IncomingMessage, limit: number): Promise<UpstreamBody> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  // Not destroyed when left early: the client is still to get its 413.
  const iterator = req.iterator({ destroyOnReturn: false });
  for (;;) {
    const step = await nextChunk(iterator);
    if (step.done) break;
    size += step.value.length;
    if (size > limit) {
      await iterator.return?.();
      throw new BodyTooLarge(limit);
    }
    chunks.push(step.value);
  }
  const body = Buffer.concat(chunks, size);
  return { forAttempt: () => body, replayable: true };
}

/** Streams the body to the one attempt that reads it. */
export function streamedBody(req: IncomingMessage): UpstreamBody {
  let started = false;
  async function* relay(): AsyncGenerator<Buffer> {
    started = true;
    // Left early when the upstream call fails: the client's request is kept, so it can still be answered.
    const iterator = req.iterator({ destroyOnReturn: false });
    try {
      for (;;) {
        const step = await nextChunk(iterator);
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return {
    // A stream over the generator: it reads nothing until the attempt's connection starts sending it.
    forAttempt: () => Readable.from(relay(), { objectMode: false }),
    get replayable() {
      return !started;
    },
  };
}

/** The next chunk of the client's body; a failure to read it is the client's (ClientBodyError), not the upstream's. */
async function nextChunk(iterator: AsyncIterator<unknown>): Promise<IteratorResult<Buffer>> {
  try {
    return (await iterator.next()) as IteratorResult<Buffer>;
  } catch (error) {
    throw new ClientBodyError(error);
  }
}
