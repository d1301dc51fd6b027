import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { z } from 'zod';
import type { ProductCatalog, ReservationResult } from '../../modules/order/application/ports/product-catalog.port.ts';
import { DomainError } from '../../shared/domain-error.ts';
import { type Logger, silentLogger } from '../../shared/logger.port.ts';
import { type JwtSettings, signToken } from '../auth/jwt.ts';
import { startSpan } from '../tracing/spans.ts';
import { childTraceparent, currentTraceparent } from '../tracing/traceparent.ts';

/**
 * The order module's ProductCatalog port over HTTP: the product service's internal reservation API
 * (/internal/v1/reservations), called with a short-lived `service` token over keep-alive connections.
 * Whatever goes wrong on the way (refused, reset, timed out, 5xx, a refusal or an answer it cannot read)
 * becomes an 'unavailable' DomainError: the order stays PENDING, the client gets a 503 and never waits
 * longer than the deadline.
 */
export interface HttpProductCatalogOptions {
  /** The product service as the order service sees it (config.productUrl), e.g. http://127.0.0.1:8081. */
  baseUrl: string;
  /** The JWT settings: the service key (or, in HS256 mode, the shared secret); the token says sub `order-service`, role `service`. */
  jwt: JwtSettings;
  logger?: Logger;
  /** TCP connect timeout of one attempt. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Deadline of one call, its retry included. Default 5000 ms. */
  timeoutMs?: number;
  /** Keep-alive connections to the product service. Default 16. */
  connections?: number;
  /** Lifetime of the service token; it is signed again once two thirds of it have passed. Default 300 s. */
  tokenTtlSeconds?: number;
}

export const ProductServiceErrors = {
  /** Unreachable, reset, timed out, or a 5xx: the product service could not serve the call. */
  unavailable: 'PRODUCT_SERVICE_UNAVAILABLE',
  /** It answered with a 4xx: a configuration problem (keys, URL) or a version mismatch, not the client's fault. */
  refused: 'PRODUCT_SERVICE_REFUSED',
  /** It answered 200 with a body that is not a reservation outcome. */
  badResponse: 'PRODUCT_SERVICE_BAD_RESPONSE',
} as const;

const SERVICE_PRINCIPAL = { id: 'order-service', role: 'service' } as const;
const SAFE_ID = /^[\w.:-]{1,128}$/;
/** Errors where the request did not get an answer from a live connection: worth one more try. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RETRY_DELAY_MS = 50;

const Line = z.object({
  productId: z.string(),
  sku: z.string(),
  name: z.string(),
  unitPriceCents: z.number().int().min(0),
  currency: z.string(),
  quantity: z.number().int().min(1),
});
/** A tolerant reader: unknown fields are dropped, missing or mistyped ones refuse the answer. */
const Outcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('RESERVED'), lines: z.array(Line) }),
  z.object({ status: z.literal('REJECTED'), reason: z.string().min(1) }),
  z.object({ status: z.literal('RELEASED'), lines: z.array(Line) }),
]);

type Answer = { status: number; text: string };

export class HttpProductCatalog implements ProductCatalog {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #origin: string;
  readonly #jwt: JwtSettings;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #tokenTtlSeconds: number;
  #token: { value: string; renewAt: number } | undefined;

  constructor(options: HttpProductCatalogOptions) {
    const url = new URL(options.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#origin = url.origin;
    this.#jwt = options.jwt;
    this.#logger = options.logger ?? silentLogger;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#tokenTtlSeconds = options.tokenTtlSeconds ?? 300;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 16,
      connect: { timeout: options.connectTimeoutMs ?? 2000 },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      keepAliveTimeout: 10_000,
    });
    // Signed once now, so a role without a key for service tokens (--service-key-file) fails at start.
    this.#serviceToken();
  }

  async reserve(
    orderId: string,
    items: readonly { productId: string; quantity: number }[],
    correlationId: string,
  ): Promise<ReservationResult> {
    const body = JSON.stringify({ orderId, items: items.map(({ productId, quantity }) => ({ productId, quantity })) });
    const answer = await this.#call('reserve', '/internal/v1/reservations', body, correlationId);
    this.#expect(answer, 200, 'reserve');
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    const parsed = Outcome.safeParse(json);
    if (!parsed.success) {
      // Said once, by whoever handles the error (the order use cases log it with the order id).
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new DomainError(
        'unavailable',
        ProductServiceErrors.badResponse,
        `the product service answered a reservation unreadably (${issues.slice(0, 300)})`,
      );
    }
    return parsed.data;
  }

  async release(orderId: string, correlationId: string): Promise<void> {
    const path = `/internal/v1/reservations/${encodeURIComponent(orderId)}/release`;
    this.#expect(await this.#call('release', path, undefined, correlationId), 204, 'release');
  }

  /** Waits for calls in flight, then closes the connections. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * One call, retried once on a connection error or a 5xx. That is safe because both endpoints are idempotent
   * by order id: when the first attempt did reach the service and commit (its answer lost to a reset keep-alive
   * socket, or a 5xx after the commit), the second finds that reservation and returns its outcome instead of
   * taking stock again. It is also needed: a POST is not retried by undici itself, so a keep-alive socket the
   * service closed just as we wrote to it would otherwise fail an order. Timeouts are not retried: the deadline,
   * which bounds both attempts together, is spent.
   */
  async #call(what: string, path: string, body: string | undefined, correlationId: string): Promise<Answer> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      let retryable: boolean;
      try {
        const answer = await this.#attempt(what, path, body, correlationId, deadline);
        if (answer.status < 500) return answer;
        failure = `HTTP ${answer.status}`;
        retryable = true;
      } catch (error) {
        if (deadline.aborted) {
          throw unavailable(`the product service did not answer within ${this.#timeoutMs} ms`);
        }
        failure = describe(error);
        retryable = RETRYABLE_CODES.has(codeOf(error));
      }
      this.#logger.warn('product service call failed', {
        code: ProductServiceErrors.unavailable,
        call: what,
        attempt,
        failure,
      });
      if (!retryable || attempt > 1) throw unavailable('the product service could not be reached');
      try {
        await sleep(RETRY_DELAY_MS, undefined, { signal: deadline });
      } catch {
        throw unavailable(`the product service did not answer within ${this.#timeoutMs} ms`);
      }
    }
  }

  async #attempt(what: string, path: string, body: string | undefined, correlationId: string, signal: AbortSignal) {
    const span = startSpan(`POST ${what}`, 'client', {
      'http.request.method': 'POST',
      'server.address': this.#origin,
      'hexashop.correlation_id': correlationId,
    });
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#serviceToken()}`,
      accept: 'application/json',
      traceparent: span?.traceparent ?? childTraceparent(currentTraceparent()),
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (SAFE_ID.test(correlationId)) headers['x-request-id'] = correlationId;
    try {
      const answer = await this.#send(`${this.#basePath}${path}`, headers, body, signal);
      span?.setAttributes({ 'http.response.status_code': answer.status });
      span?.end(answer.status >= 500 ? { code: `HTTP_${answer.status}` } : undefined);
      return answer;
    } catch (error) {
      span?.end(error);
      throw error;
    }
  }

  async #send(path: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal) {
    const response = await this.#pool.request({ method: 'POST', path, headers, body: body ?? null, signal });
    if (response.statusCode >= 500) {
      await response.body.dump();
      return { status: response.statusCode, text: '' } satisfies Answer;
    }
    return { status: response.statusCode, text: await response.body.text() } satisfies Answer;
  }

  /**
   * Anything but the expected status is a 4xx here (5xx were handled): a refusal, thrown with what the
   * service said (its problem's code and detail); whoever handles it logs it, once.
   */
  #expect(answer: Answer, status: number, what: string): void {
    if (answer.status === status) return;
    // A refused token is signed afresh next time (the key or the clock may have changed under us).
    if (answer.status === 401) this.#token = undefined;
    throw new DomainError(
      'unavailable',
      ProductServiceErrors.refused,
      `the product service refused the ${what} request (HTTP ${answer.status}: ${answer.text.slice(0, 300)})`,
    );
  }

  #serviceToken(): string {
    const now = Date.now();
    if (!this.#token || now >= this.#token.renewAt) {
      this.#token = {
        value: signToken(this.#jwt, SERVICE_PRINCIPAL, this.#tokenTtlSeconds, 'service'),
        renewAt: now + (this.#tokenTtlSeconds * 1000 * 2) / 3,
      };
    }
    return this.#token.value;
  }
}

const unavailable = (detail: string) => new DomainError('unavailable', ProductServiceErrors.unavailable, detail);

const codeOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
