/**
 * The clients of a chaos run: a steady mix of sync and async orders, cancels, product updates and reads,
 * each client behaving as a careful real one (an Idempotency-Key per order, retried on no answer or a 5xx
 * with the same key, a timeout per attempt). Every operation lands in the history the checker reads.
 */
import { randomUUID } from 'node:crypto';
import type { Platform } from './platform.ts';

export type OpKind = 'order-sync' | 'order-async' | 'cancel' | 'update' | 'read';

/** What one client saw of one operation, all attempts included (Jepsen's ok / fail / info). */
export interface Operation {
  kind: OpKind;
  client: string;
  start: number;
  end: number;
  attempts: number;
  /** Attempts that got no answer, a 5xx or a 429: what the client felt of the fault. */
  failedAttempts: number;
  /** When each failed attempt ended, and what it got (for the table per fault). */
  failures: { at: number; error: string }[];
  /** `ok`: acknowledged; `fail`: definitely refused (a 4xx); `unknown`: no definite answer in the end. */
  outcome: 'ok' | 'fail' | 'unknown';
  status?: number;
  idempotencyKey?: string;
  items?: { productId: string; quantity: number }[];
  orderId?: string;
  orderStatus?: string;
  productId?: string;
  version?: number;
  error?: string;
}

export interface Catalog {
  products: { id: string; initialStock: number }[];
}

export interface WorkloadOptions {
  clients: number;
  /** Operations per second per client (each waits for its previous answer, as a real client does). */
  ratePerClient: number;
  /** Per-attempt timeout. */
  attemptTimeoutMs?: number;
  /** Attempts per operation (the first included). */
  maxAttempts?: number;
}

/** The fields of an answer the clients read (an order, a product, a problem). */
interface Body {
  id: string;
  status: string;
  version: number;
  code?: string;
}

type Answer = { status: number; body: Body } | { error: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(
  platform: Platform,
  method: string,
  path: string,
  token: string,
  timeoutMs: number,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  try {
    const response = await fetch(`${platform.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed as Body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { error: cause ?? (error instanceof Error ? error.name : String(error)) };
  }
}

const retryable = (answer: Answer) => 'error' in answer || answer.status >= 500 || answer.status === 429;

/**
 * One operation with its retries: the same request again (same Idempotency-Key) after no answer or a 5xx,
 * with a growing pause, until a definite answer or the last attempt.
 */
async function attempt(
  op: Operation,
  maxAttempts: number,
  request: () => Promise<Answer>,
): Promise<Answer & { status?: number }> {
  let answer: Answer = { error: 'not sent' };
  for (let n = 1; n <= maxAttempts; n++) {
    op.attempts = n;
    answer = await request();
    if (!retryable(answer)) return answer;
    op.failedAttempts++;
    op.error = 'error' in answer ? answer.error : `HTTP ${answer.status} ${answer.body?.code ?? ''}`.trim();
    op.failures.push({ at: Date.now(), error: op.error });
    if (n < maxAttempts) await sleep(Math.min(2_000, 250 * 2 ** (n - 1)));
  }
  return answer;
}

export class Workload {
  readonly history: Operation[] = [];
  #running = true;
  readonly #done: Promise<void>[] = [];

  readonly #platform: Platform;
  readonly #catalog: Catalog;
  readonly #options: WorkloadOptions;

  constructor(platform: Platform, catalog: Catalog, options: WorkloadOptions) {
    this.#platform = platform;
    this.#catalog = catalog;
    this.#options = options;
  }

  start(): void {
    for (let n = 0; n < this.#options.clients; n++) this.#done.push(this.#client(n));
  }

  /** Lets every client finish the operation in hand (its retries included), then resolves. */
  async stop(): Promise<Operation[]> {
    this.#running = false;
    await Promise.all(this.#done);
    return this.history;
  }

  async #client(n: number): Promise<void> {
    const customer = `chaos-customer-${n}`;
    const token = this.#platform.token({ id: customer, role: 'customer' });
    const admin = this.#platform.token({ id: 'chaos-admin', role: 'admin' });
    const confirmed: string[] = [];
    const period = 1_000 / this.#options.ratePerClient;
    // Spread the clients' first requests over one period.
    await sleep((period * n) / this.#options.clients);
    for (let i = 0; this.#running; i++) {
      const started = Date.now();
      const roll = Math.random();
      const op =
        roll < 0.35
          ? await this.#order(customer, token, 'sync', confirmed)
          : roll < 0.7
            ? await this.#order(customer, token, 'async', confirmed)
            : roll < 0.82 && confirmed.length > 0
              ? await this.#cancel(customer, token, confirmed)
              : roll < 0.88
                ? await this.#update(admin)
                : await this.#read(customer, token);
      this.history.push(op);
      await sleep(Math.max(0, period - (Date.now() - started)));
    }
  }

  #op(kind: OpKind, client: string): Operation {
    return {
      kind,
      client,
      start: Date.now(),
      end: 0,
      attempts: 0,
      failedAttempts: 0,
      failures: [],
      outcome: 'unknown',
    };
  }

  #finish(op: Operation, answer: Answer, ok: (status: number) => boolean): Operation {
    op.end = Date.now();
    if ('error' in answer) return op;
    op.status = answer.status;
    if (ok(answer.status)) {
      op.outcome = 'ok';
      delete op.error;
    } else if (!retryable(answer)) {
      // A definite refusal; after an attempt that got no answer it may still have happened (unknown).
      op.outcome = op.failedAttempts > 0 && op.kind === 'cancel' ? 'unknown' : 'fail';
      op.error = `HTTP ${answer.status} ${answer.body?.code ?? ''}`.trim();
    }
    return op;
  }

  #product(): { id: string } {
    const products = this.#catalog.products;
    return products[Math.floor(Math.random() * products.length)]!;
  }

  async #order(customer: string, token: string, mode: 'sync' | 'async', confirmed: string[]): Promise<Operation> {
    const op = this.#op(mode === 'sync' ? 'order-sync' : 'order-async', customer);
    const lines = 1 + Math.floor(Math.random() * 2);
    const ids = new Set<string>();
    while (ids.size < lines) ids.add(this.#product().id);
    op.items = [...ids].map((productId) => ({ productId, quantity: 1 + Math.floor(Math.random() * 3) }));
    op.idempotencyKey = randomUUID();
    const answer = await attempt(op, this.#options.maxAttempts ?? 8, () =>
      send(
        this.#platform,
        'POST',
        `/api/v1/orders?mode=${mode}`,
        token,
        this.#options.attemptTimeoutMs ?? 8_000,
        { items: op.items },
        { 'idempotency-key': op.idempotencyKey! },
      ),
    );
    this.#finish(op, answer, (s) => s === 201 || s === 202);
    if (op.outcome === 'ok' && 'body' in answer) {
      op.orderId = answer.body.id;
      op.orderStatus = answer.body.status;
      if (answer.body.status === 'CONFIRMED') confirmed.push(answer.body.id);
    }
    return op;
  }

  async #cancel(customer: string, token: string, confirmed: string[]): Promise<Operation> {
    const op = this.#op('cancel', customer);
    op.orderId = confirmed.splice(Math.floor(Math.random() * confirmed.length), 1)[0]!;
    const answer = await attempt(op, this.#options.maxAttempts ?? 8, () =>
      send(
        this.#platform,
        'POST',
        `/api/v1/orders/${op.orderId}/cancel`,
        token,
        this.#options.attemptTimeoutMs ?? 8_000,
      ),
    );
    this.#finish(op, answer, (s) => s === 200);
    if (op.outcome === 'ok' && 'body' in answer) op.orderStatus = answer.body.status;
    return op;
  }

  async #update(admin: string): Promise<Operation> {
    const op = this.#op('update', 'chaos-admin');
    op.productId = this.#product().id;
    const priceCents = 100 + Math.floor(Math.random() * 10_000);
    const answer = await attempt(op, this.#options.maxAttempts ?? 8, () =>
      send(
        this.#platform,
        'PATCH',
        `/api/v1/products/${op.productId}`,
        admin,
        this.#options.attemptTimeoutMs ?? 8_000,
        {
          priceCents,
          name: `Chaos product at ${priceCents}`,
        },
      ),
    );
    this.#finish(op, answer, (s) => s === 200);
    if (op.outcome === 'ok' && 'body' in answer) op.version = answer.body.version;
    return op;
  }

  async #read(customer: string, token: string): Promise<Operation> {
    const op = this.#op('read', customer);
    op.productId = this.#product().id;
    const answer = await attempt(op, this.#options.maxAttempts ?? 8, () =>
      send(this.#platform, 'GET', `/api/v1/products/${op.productId}`, token, this.#options.attemptTimeoutMs ?? 8_000),
    );
    return this.#finish(op, answer, (s) => s === 200);
  }
}

/** Creates the products the clients order from (retrying until the platform takes them). */
export async function createCatalog(platform: Platform, count: number, stock: number): Promise<Catalog> {
  const admin = platform.token({ id: 'chaos-admin', role: 'admin' });
  const products: Catalog['products'] = [];
  const run = randomUUID().slice(0, 8);
  for (let i = 0; i < count; i++) {
    for (let tries = 0; ; tries++) {
      const answer = await send(platform, 'POST', '/api/v1/products', admin, 10_000, {
        sku: `CHAOS-${run}-${i}`,
        name: `Chaos product ${i}`,
        priceCents: 1_000 + i,
        currency: 'EUR',
        stock,
      });
      if ('status' in answer && answer.status === 201) {
        products.push({ id: answer.body.id, initialStock: stock });
        break;
      }
      if (tries > 20) throw new Error(`could not create product ${i}: ${JSON.stringify(answer)}`);
      await sleep(500);
    }
  }
  return { products };
}
