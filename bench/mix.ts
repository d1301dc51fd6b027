/**
 * A workload that looks like a shop, then the invariants a shop must keep. Many customers, each with its
 * own token and one request in flight, loop for the duration over a weighted mix of browsing, searching,
 * viewing, ordering and checking on their orders, against a freshly started shape with a freshly seeded
 * catalog; then, through the public API only, the bench waits for every order to settle and checks that
 * nothing was lost, oversold or conjured. Unlike the other benches it fails on purpose: a broken invariant
 * prints what broke and sets a non-zero exit code.
 *
 *   npm run bench -- --target mix [--shape SHAPES] [--duration 10] [--customers 32] [--think-ms 0]
 *
 * Shapes run one after the other, each started fresh (a comma-separated list, `both` for monolith,split, or
 * `all`): `monolith`; `split`, the gateway with one product and one order instance; `split-2x2`, the gateway
 * with two product and two order instances, each a process of its own on the same databases and sharing the
 * consumer groups. Before the load, every customer sends one sync and one async order twice at once under one
 * Idempotency-Key, a copy to each order instance (a retry landing on another instance): each must be one order.
 * The split shapes are also audited from outside (bench/scale.ts: every instance served and consumed, each
 * order settled once and its stock taken once, every event sent once), and reads are compared on every product
 * instance after the run. Each shape prints what each of its processes did (requests, CPU); a summary puts the
 * shapes side by side, also written to bench/results/mix-*.{json,svg}.
 *
 * The mix, per 30 actions, is Online Boutique's load generator doubled: browse 10, look closer 3, check out 1
 * (its tasks are a product page 10, the cart 3 and checkout 1; with no cart in this API, browsing is the catalog
 * pages and looking closer is a product's page). TPC-W's shopping mix splits the rest: its home, new-product
 * and best-seller pages (26 %) against its search results (17 %) give first page + next page : search = 12 : 8,
 * and its order inquiry and order display (1.4 % together) come about as often as a bought cart (1.2 %):
 *   list products 8 · next page 4 · search 8 · view a product 6 · place an order 2 · list own orders 1 ·
 *   view an order 1.
 * Orders take 1-3 products, 1-3 of each, half of them sync and half async. A customer picks products the way
 * shoppers do, skewed towards the popular ones, and looks first at orders it has not seen settle yet. About 1
 * in 10 orders is one the customer changes its mind about: once it learns that order is CONFIRMED, cancelling
 * it is its next action (so cancellations are not a weight of their own). `--think-ms` is the mean of an
 * exponential think time between a customer's actions (TPC-W's model); 0 keeps the customers busy.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { type Platform, sleep, startMonolithProcess, startSplitProcesses } from './platform.ts';
import { writeResults } from './results.ts';
import { type AuditedOrder, ProcessMeter, type ScaleAudit, startScaleAudit } from './scale.ts';

export interface MixOptions {
  /** One shape, a comma-separated list, `both` (monolith,split) or `all`. */
  shape: string;
  /** Seconds of load on each shape. */
  duration: number;
  customers: number;
  /** Mean think time between a customer's actions, in ms; 0: none. */
  thinkMs: number;
}

type Mode = 'sync' | 'async';
type Status = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
interface OrderView {
  id: string;
  customerId: string;
  status: Status;
  rejectionReason?: string;
  items: { productId: string; quantity: number }[];
}
interface ProductView {
  id: string;
  stock: number;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
/** `status` 0: no answer (refused, reset, timed out); `body` then holds the error. */
interface Reply {
  status: number;
  body: unknown;
}

const MIX = {
  'list products': 8,
  'list products (next page)': 4,
  'search products': 8,
  'view product': 6,
  'place order': 2,
  'list orders': 1,
  'view order': 1,
} as const;
type Action = keyof typeof MIX;
/** The report's rows, in the order of the mix. */
const OPERATIONS = [
  'list products',
  'list products (next page)',
  'search products',
  'view product',
  'place order (sync)',
  'place order (async)',
  'cancel order',
  'list orders',
  'view order',
];
const MIX_TOTAL = Object.values(MIX).reduce((a, b) => a + b, 0);

const CATALOG_SIZE = 200;
const CANCEL_SHARE = 0.1;
const SETTLE_BUDGET_MS = 60_000;
const ADJECTIVES = ['Enamel', 'Linen', 'Walnut', 'Copper', 'Wool', 'Ceramic', 'Bamboo', 'Leather'];
const NOUNS = ['mug', 'scarf', 'bowl', 'lamp', 'notebook', 'blanket', 'teapot', 'candle', 'tray', 'apron'];

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const oneOf = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

function pickAction(): Action {
  let r = Math.random() * MIX_TOTAL;
  for (const [action, weight] of Object.entries(MIX) as [Action, number][]) if ((r -= weight) < 0) return action;
  return 'list products';
}

/** A keep-alive pool; no request waits more than 30 s, so a stuck platform cannot hold the bench forever. */
const openPool = (url: string, connections: number) =>
  new Pool(url, { connections, headersTimeout: 30_000, bodyTimeout: 30_000 });

async function send(
  pool: Pool,
  method: 'GET' | 'POST',
  path: string,
  token?: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await pool.request({ method, path, headers, body: body === undefined ? null : JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, body: parseJson(text) };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text.slice(0, 200);
  }
}

/** What an answer says in a word: its status and problem code, or the error when there was no answer. */
function describe(reply: Reply): string {
  const code = (reply.body as { code?: unknown } | undefined)?.code;
  return `${reply.status || 'no answer'} ${typeof code === 'string' ? code : JSON.stringify(reply.body)}`.slice(0, 160);
}

const CLASSES = ['2xx', '4xx', '5xx', 'errors'] as const;
type Class = (typeof CLASSES)[number];
/** 3xx never happens on this API; it would count as 4xx (not what the customer wanted either). */
const classOf = (status: number): Class =>
  status === 0 ? 'errors' : status >= 500 ? '5xx' : status >= 300 ? '4xx' : '2xx';

interface Tally {
  latencies: number[];
  classes: Record<Class, number>;
  /** The first answer of each class but 2xx, to say what went wrong. */
  first: Partial<Record<Class, string>>;
}
const emptyTally = (): Tally => ({ latencies: [], classes: { '2xx': 0, '4xx': 0, '5xx': 0, errors: 0 }, first: {} });

/** One row of the report: count, rate, latency percentiles (nearest rank) and status classes. */
function row(operation: string, { latencies, classes }: Tally, seconds: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => `${sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]?.toFixed(1)} ms`;
  const rate = latencies.length / seconds;
  const ops = Number(rate.toFixed(rate < 10 ? 1 : 0));
  return { operation, count: latencies.length, 'ops/s': ops, p50: at(50), p95: at(95), p99: at(99), ...classes };
}

/** Latency and status classes per operation. */
class Recorder {
  readonly #tallies = new Map<string, Tally>();

  async time(op: string, call: () => Promise<Reply>): Promise<Reply> {
    const started = performance.now();
    const reply = await call();
    const tally = this.#tallies.get(op) ?? emptyTally();
    this.#tallies.set(op, tally);
    tally.latencies.push(performance.now() - started);
    const cls = classOf(reply.status);
    tally.classes[cls]++;
    if (cls !== '2xx') tally.first[cls] ??= describe(reply);
    return reply;
  }

  rows(seconds: number) {
    const ops = [...this.#tallies].sort(([a], [b]) => OPERATIONS.indexOf(a) - OPERATIONS.indexOf(b));
    const all: Tally = { ...emptyTally(), latencies: ops.flatMap(([, t]) => t.latencies) };
    for (const [, t] of ops) for (const c of CLASSES) all.classes[c] += t.classes[c];
    return [...ops, ['all', all] as const].map(([op, t]) => row(op, t, seconds));
  }

  /** Each operation that had answers of these classes: how many, and the first of them. */
  samples(classes: Class[]): string[] {
    return [...this.#tallies].flatMap(([op, t]) =>
      classes.filter((c) => t.classes[c] > 0).map((c) => `${op}: ${t.classes[c]} ${c}, first ${t.first[c]}`),
    );
  }
}

interface Seeded {
  id: string;
  initialStock: number;
  scarce: boolean;
}

interface Run {
  pool: Pool;
  recorder: Recorder;
  catalog: Seeded[];
  thinkMs: number;
  /** Illegal status changes seen by customers while they shopped. */
  violations: string[];
  /** Sync orders answered 202 PENDING: the product module did not answer in time, the events settle them. */
  deferred: number;
}

/** A product, popular ones first: index ~ n·u², so the first tenth of the catalog takes about a third of picks. */
const popular = (catalog: Seeded[]) => catalog[Math.floor(catalog.length * Math.random() ** 2)]!;

/** Every tenth product, the most popular one included, has almost no stock, so some orders must be rejected. */
async function seedCatalog(pool: Pool, admin: string, tag: string): Promise<Seeded[]> {
  const create = async (i: number): Promise<Seeded> => {
    const scarce = i % 10 === 0;
    const initialStock = scarce ? randomInt(0, 5) : randomInt(20, 220);
    const name = `${ADJECTIVES[i % ADJECTIVES.length]} ${NOUNS[i % NOUNS.length]} ${i}`;
    const body = {
      sku: `MIX-${tag}-${i}`,
      name,
      priceCents: randomInt(100, 10_000),
      currency: 'EUR',
      stock: initialStock,
    };
    const reply = await send(pool, 'POST', '/api/v1/products', admin, body);
    if (reply.status !== 201) throw new Error(`seeding product ${i}: ${describe(reply)}`);
    return { id: (reply.body as ProductView).id, initialStock, scarce };
  };
  const catalog: Seeded[] = [];
  for (let i = 0; i < CATALOG_SIZE; i += 10) {
    catalog.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => create(i + k)))));
  }
  await sleep(1_000); // let the order module's catalog replica learn them, as platform.createProduct does
  return catalog;
}

/** The statuses an order may move to from the one last seen, while the run goes on. */
const NEXT: Record<Status, Status[]> = {
  PENDING: ['PENDING', 'CONFIRMED', 'REJECTED'],
  CONFIRMED: ['CONFIRMED', 'CANCELLED'],
  REJECTED: ['REJECTED'],
  CANCELLED: ['CANCELLED'],
};

interface KnownOrder {
  id: string;
  mode: Mode;
  seen: Status;
  cancelWhenConfirmed: boolean;
  /** A cancel went unanswered (5xx or no answer): it may or may not have happened. */
  cancelUnsure: boolean;
  /** Sent twice at once under one Idempotency-Key before the load (Customer.placeTwice). */
  retried?: true;
}

/** One shopper: a token, the orders it placed and what it was told about them, and where it is in the catalog. */
class Customer {
  readonly orders: KnownOrder[] = [];
  readonly #toCancel: KnownOrder[] = [];
  #cursor: string | null = null;

  readonly sub: string;
  readonly token: string;
  readonly run: Run;

  constructor(sub: string, token: string, run: Run) {
    this.sub = sub;
    this.token = token;
    this.run = run;
  }

  async shop(until: number): Promise<void> {
    while (Date.now() < until) {
      await this.#act();
      // Exponential think time with the given mean (TPC-W), capped so that one draw cannot stall a customer.
      if (this.run.thinkMs > 0) await sleep(Math.min(-Math.log(1 - Math.random()), 10) * this.run.thinkMs);
    }
  }

  #act(): Promise<void> {
    const cancel = this.#toCancel.shift();
    if (cancel) return this.#cancel(cancel);
    switch (pickAction()) {
      case 'list products':
        return this.#listProducts('list products', '');
      case 'list products (next page)':
        return this.#cursor
          ? this.#listProducts('list products (next page)', `&cursor=${this.#cursor}`)
          : this.#listProducts('list products', '');
      case 'search products':
        return this.#listProducts('search products', `&q=${oneOf([...NOUNS, ...ADJECTIVES])}`);
      case 'view product':
        return this.#viewProduct();
      case 'place order':
        return this.#placeOrder();
      case 'list orders':
        return this.#listOrders();
      case 'view order':
        return this.#viewOrder();
    }
  }

  #get(op: string, path: string): Promise<Reply> {
    return this.run.recorder.time(op, () => send(this.run.pool, 'GET', path, this.token));
  }

  async #listProducts(op: string, query: string): Promise<void> {
    const reply = await this.#get(op, `/api/v1/products?limit=20${query}`);
    if (reply.status === 200 && !query.startsWith('&q=')) this.#cursor = (reply.body as Page<ProductView>).nextCursor;
  }

  async #viewProduct(): Promise<void> {
    await this.#get('view product', `/api/v1/products/${popular(this.run.catalog).id}`);
  }

  async #placeOrder(): Promise<void> {
    const products = new Set(Array.from({ length: randomInt(1, 3) }, () => popular(this.run.catalog).id));
    const items = [...products].map((productId) => ({ productId, quantity: randomInt(1, 3) }));
    const mode: Mode = Math.random() < 0.5 ? 'sync' : 'async';
    const reply = await this.run.recorder.time(`place order (${mode})`, () =>
      send(this.run.pool, 'POST', `/api/v1/orders?mode=${mode}`, this.token, { items }),
    );
    if (reply.status !== 201 && reply.status !== 202) return;
    const { id, status } = reply.body as OrderView;
    if (mode === 'sync' && reply.status === 202) this.run.deferred++;
    const cancelWhenConfirmed = Math.random() < CANCEL_SHARE;
    const order: KnownOrder = { id, mode, seen: 'PENDING', cancelWhenConfirmed, cancelUnsure: false };
    this.orders.push(order);
    this.#observe(order, status);
  }

  async #listOrders(): Promise<void> {
    const reply = await this.#get('list orders', '/api/v1/orders?limit=20');
    if (reply.status !== 200) return;
    for (const seen of (reply.body as Page<OrderView>).items) {
      if (seen.customerId !== this.sub)
        this.run.violations.push(`order ${seen.id} of ${seen.customerId} listed for ${this.sub}`);
      // An order not known here was placed by a request whose answer was lost (counted as a failure).
      const order = this.orders.find((o) => o.id === seen.id);
      if (order) this.#observe(order, seen.status);
    }
  }

  /** Customers check first on an order they have not seen settle, as one does after an async checkout. */
  async #viewOrder(): Promise<void> {
    const order = this.orders.find((o) => o.seen === 'PENDING') ?? oneOf(this.orders);
    if (!order) return this.#listOrders();
    const reply = await this.#get('view order', `/api/v1/orders/${order.id}`);
    if (reply.status === 200) this.#observe(order, (reply.body as OrderView).status);
  }

  async #cancel(order: KnownOrder): Promise<void> {
    const reply = await this.run.recorder.time('cancel order', () =>
      send(this.run.pool, 'POST', `/api/v1/orders/${order.id}/cancel?mode=${order.mode}`, this.token),
    );
    if (reply.status === 200) this.#observe(order, (reply.body as OrderView).status);
    else if (reply.status === 0 || reply.status >= 500) order.cancelUnsure = true;
  }

  /**
   * One order sent twice at once under one Idempotency-Key, each copy through its own door (with two order
   * instances, a copy to each): a client retrying while its first attempt is still in flight, the retry
   * landing on another instance. Both answers must name one order; what they say is observed like any other
   * answer (a PENDING one first: they were concurrent). Resolves to what went wrong.
   */
  async placeTwice(doors: readonly [Pool, Pool], recorder: Recorder, mode: Mode): Promise<string[]> {
    const items = [{ productId: popular(this.run.catalog).id, quantity: randomInt(1, 3) }];
    const key = `mix-retry-${randomUUID()}`;
    const replies = await Promise.all(
      doors.map((door) =>
        recorder.time(`retried order (${mode})`, () =>
          send(door, 'POST', `/api/v1/orders?mode=${mode}`, this.token, { items }, { 'idempotency-key': key }),
        ),
      ),
    );
    const problems = replies
      .filter((r) => r.status !== 201 && r.status !== 202)
      .map((r) => `${mode} order of ${this.sub} under key ${key}: ${describe(r)}`);
    const answers = replies.filter((r) => r.status === 201 || r.status === 202).map((r) => r.body as OrderView);
    const ids = [...new Set(answers.map((o) => o.id))];
    if (ids.length > 1)
      problems.push(`${mode} order of ${this.sub} under key ${key}: two orders, ${ids.join(' and ')}`);
    for (const id of ids) {
      const order: KnownOrder = {
        id,
        mode,
        seen: 'PENDING',
        cancelWhenConfirmed: false,
        cancelUnsure: false,
        retried: true,
      };
      this.orders.push(order);
      const said = answers.filter((o) => o.id === id).map((o) => o.status);
      for (const status of said.sort((a, b) => Number(b === 'PENDING') - Number(a === 'PENDING')))
        this.#observe(order, status);
    }
    return problems;
  }

  #observe(order: KnownOrder, status: Status): void {
    if (!NEXT[order.seen].includes(status))
      this.run.violations.push(`order ${order.id}: seen ${order.seen}, then ${status}`);
    if (status === 'CONFIRMED' && order.seen !== 'CONFIRMED' && order.cancelWhenConfirmed) this.#toCancel.push(order);
    order.seen = status;
  }
}

/**
 * A cursor just before `ms`: ids are time-ordered UUIDv7 and lists run in id order, so paging from here
 * lists only what was created since. The split shape's databases outlive a run (and hold every earlier
 * bench's rows); this keeps the checks to this run without paging through all of them.
 */
function cursorBefore(ms: number): string {
  const hex = (ms - 1).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

async function listSince<T>(pool: Pool, path: string, since: string, token?: string): Promise<T[]> {
  const all: T[] = [];
  for (let cursor: string | null = since; cursor;) {
    const reply = await send(pool, 'GET', `${path}${path.includes('?') ? '&' : '?'}limit=100&cursor=${cursor}`, token);
    if (reply.status !== 200) throw new Error(`GET ${path} while checking: ${describe(reply)}`);
    const page = reply.body as Page<T>;
    all.push(...page.items);
    cursor = page.nextCursor;
  }
  return all;
}

/** What belongs to one run: its admin, the cursor its rows come after, the prefix of its customers' ids. */
interface Scope {
  admin: string;
  since: string;
  prefix: string;
}

interface Check {
  name: string;
  problems: string[];
}

interface Verdict {
  checks: Check[];
  orders: OrderView[];
  settledMs: number | null;
  conservedMs: number | null;
  staleReads: string[];
}

/** The run's orders, as an admin lists them: all of this run's customers', none of anyone else's. */
const runOrders = async (pool: Pool, { admin, since, prefix }: Scope, query = '') =>
  (await listSince<OrderView>(pool, `/api/v1/orders${query}`, since, admin)).filter((o) =>
    o.customerId.startsWith(prefix),
  );

/** Polls until `done` holds or `deadline` passes; returns the ms from `since` to when it held, or null. */
async function until(since: number, deadline: number, done: () => Promise<boolean>): Promise<number | null> {
  for (;;) {
    if (await done()) return Date.now() - since;
    if (Date.now() > deadline) return null;
    await sleep(250);
  }
}

interface StockProblems {
  oversold: string[];
  unconserved: string[];
}
const noStockProblem = ({ oversold, unconserved }: StockProblems) => oversold.length + unconserved.length === 0;

function stockProblems(catalog: Seeded[], stocks: Map<string, number>, orders: OrderView[]): StockProblems {
  const sold = new Map<string, number>();
  for (const o of orders.filter((o) => o.status === 'CONFIRMED'))
    for (const line of o.items) sold.set(line.productId, (sold.get(line.productId) ?? 0) + line.quantity);
  const problems: StockProblems = { oversold: [], unconserved: [] };
  for (const { id, initialStock } of catalog) {
    const stock = stocks.get(id);
    const confirmed = sold.get(id) ?? 0;
    if (stock === undefined) problems.unconserved.push(`product ${id} is not listed any more`);
    else if (stock < 0) problems.oversold.push(`product ${id}: stock ${stock}`);
    else if (initialStock !== stock + confirmed)
      problems.unconserved.push(`product ${id}: initial ${initialStock} ≠ current ${stock} + confirmed ${confirmed}`);
  }
  return problems;
}

function orderProblems(customers: Customer[], orders: OrderView[]): { accepted: string[]; told: string[] } {
  const byId = new Map(orders.map((o) => [o.id, o]));
  const accepted = orders.filter((o) => o.status === 'PENDING').map((o) => `order ${o.id} still PENDING`);
  const told: string[] = [];
  for (const known of customers.flatMap((c) => c.orders)) {
    const final = byId.get(known.id);
    if (!final) {
      accepted.push(`order ${known.id} was accepted but is not listed`);
      continue;
    }
    // Only the customer cancels, so after the run a CONFIRMED order it did not cancel stays CONFIRMED.
    const allowed = known.cancelUnsure
      ? ['CONFIRMED', 'CANCELLED']
      : known.seen === 'PENDING'
        ? ['CONFIRMED', 'REJECTED']
        : [known.seen];
    if (!allowed.includes(final.status)) told.push(`order ${known.id}: told ${known.seen}, ends ${final.status}`);
  }
  return { accepted, told };
}

async function productStocks(pool: Pool, since: string): Promise<Map<string, number>> {
  return new Map((await listSince<ProductView>(pool, '/api/v1/products', since)).map((p) => [p.id, p.stock]));
}

/**
 * GET /products/{id} is served through a look-aside cache; after the run it must agree with the list (the
 * database), through the front door and on every product instance directly (`readers`).
 */
async function staleReads(readers: Reader[], stocks: Map<string, number>, catalog: Seeded[]): Promise<string[]> {
  const stale: string[] = [];
  for (const { name, pool } of readers) {
    const replies = await Promise.all(catalog.map(({ id }) => send(pool, 'GET', `/api/v1/products/${id}`)));
    replies.forEach((reply, i) => {
      const { id } = catalog[i]!;
      const stock = (reply.body as ProductView).stock;
      if (reply.status !== 200 || stock !== stocks.get(id))
        stale.push(`${name}: product ${id}: GET says ${stock}, the list ${stocks.get(id)}`);
    });
  }
  return stale;
}

/** Who reads the products back after the run: the platform's front door, and each product instance of a split shape. */
interface Reader {
  name: string;
  pool: Pool;
}

/**
 * `loadEnded`: when the customers stopped; settling is timed from then, and bounded. `audit`: the split
 * shapes' checks from outside (bench/scale.ts), once the shop's own have settled.
 */
async function checkInvariants(
  run: Run,
  customers: Customer[],
  loadEnded: number,
  scope: Scope,
  readers: Reader[],
  audit: ScaleAudit | undefined,
  more: Check[],
): Promise<Verdict> {
  const deadline = loadEnded + SETTLE_BUDGET_MS;
  const pending = () => runOrders(run.pool, scope, '?status=PENDING');
  const settledMs = await until(loadEnded, deadline, async () => (await pending()).length === 0);
  const orders = await runOrders(run.pool, scope);
  // Async cancellations give their stock back when the product module consumes OrderCancelled: wait for it too.
  let stocks = new Map<string, number>();
  const conservedMs = await until(loadEnded, deadline, async () => {
    stocks = await productStocks(run.pool, scope.since);
    return noStockProblem(stockProblems(run.catalog, stocks, orders));
  });
  const { accepted, told } = orderProblems(customers, orders);
  const { oversold, unconserved } = stockProblems(run.catalog, stocks, orders);
  const checks: Check[] = [
    { name: 'every accepted order is final (CONFIRMED, REJECTED or CANCELLED)', problems: accepted },
    {
      name: 'final states agree with what customers were told; no status went back',
      problems: [...run.violations, ...told],
    },
    { name: "no oversell: every product's stock ≥ 0", problems: oversold },
    { name: 'stock conserved: initial = current + Σ quantities in CONFIRMED orders', problems: unconserved },
    { name: 'no 5xx and no network error', problems: run.recorder.samples(['5xx', 'errors']) },
    ...more,
  ];
  if (audit) {
    const modes = new Map(customers.flatMap((c) => c.orders).map((o) => [o.id, o.mode]));
    const audited: AuditedOrder[] = orders.map((o) => ({ ...o, mode: modes.get(o.id) }));
    checks.push(...(await audit.checks(audited, Math.max(deadline, Date.now() + 15_000))));
  }
  return { checks, orders, settledMs, conservedMs, staleReads: await staleReads(readers, stocks, run.catalog) };
}

function printOrders(run: Run, customers: Customer[], { orders, settledMs, conservedMs }: Verdict): void {
  const known = customers.flatMap((c) => c.orders);
  const count = (status: Status) => orders.filter((o) => o.status === status).length;
  const reasons = Object.entries(Object.groupBy(orders, (o) => o.rejectionReason ?? ''))
    .filter(([reason]) => reason)
    .map(([reason, os]) => `${reason} ${os!.length}`);
  console.log(
    `orders: ${known.length} accepted (${known.filter((o) => o.mode === 'sync').length} sync, of which ` +
      `${run.deferred} answered 202 PENDING; ${known.filter((o) => o.mode === 'async').length} async; ` +
      `${known.filter((o) => o.retried).length} of them sent twice before the load); ` +
      `${orders.length} held by the platform for these customers`,
  );
  console.log(
    `final: ${count('CONFIRMED')} CONFIRMED, ${count('REJECTED')} REJECTED (${reasons.join(', ') || 'none'}), ` +
      `${count('CANCELLED')} CANCELLED, ${count('PENDING')} PENDING`,
  );
  const ms = (x: number | null) => (x === null ? `not within ${SETTLE_BUDGET_MS / 1000} s` : `${x} ms`);
  console.log(`after the load: no order PENDING in ${ms(settledMs)}, stock conserved in ${ms(conservedMs)}`);
}

/** Prints the verdict; true when every invariant held. */
function printVerdict(verdict: Verdict, recorder: Recorder): boolean {
  console.log('invariants:');
  for (const { name, problems } of verdict.checks) {
    console.log(`  ${problems.length ? '✗' : '✓'} ${name}${problems.length ? `: ${problems.length} broken` : ''}`);
    for (const p of problems.slice(0, 5)) console.log(`      ${p}`);
  }
  const notes = [
    ...recorder.samples(['4xx']).map((s) => `unexpected 4xx, ${s}`),
    ...verdict.staleReads.slice(0, 5).map((s) => `stale read after the run, ${s}`),
  ];
  for (const note of notes) console.log(`  note: ${note}`);
  return verdict.checks.every((c) => c.problems.length === 0);
}

/**
 * Before the load, every customer sends one sync and one async order twice at once under one Idempotency-Key,
 * a copy through each of `doors` (the order instances directly; the front door twice in the monolith). The
 * orders are the customers' like any other, so every later check covers them too.
 */
async function retriedPairs(customers: Customer[], doors: readonly [Pool, Pool], names: string): Promise<Check> {
  const recorder = new Recorder();
  const problems = (
    await Promise.all(
      customers.map(async (c) => [
        ...(await c.placeTwice(doors, recorder, 'sync')),
        ...(await c.placeTwice(doors, recorder, 'async')),
      ]),
    )
  ).flat();
  const n = customers.length * 2;
  return { name: `each of ${n} orders sent twice at once under one Idempotency-Key (${names}) is one order`, problems };
}

/** The shapes the mix runs on; `instances`: of the product role and of the order role, behind the gateway. */
const SHAPES: Record<string, { instances: number; start(): Promise<Platform> }> = {
  monolith: { instances: 0, start: () => startMonolithProcess() },
  split: { instances: 1, start: () => startSplitProcesses() },
  'split-2x2': { instances: 2, start: () => startSplitProcesses('.', { instances: 2 }) },
};

/** What the summary of several shapes shows of one. */
interface ShapeResult {
  shape: string;
  instances: number;
  seconds: number;
  /** The `all` row of the recorder: every operation together. */
  all: ReturnType<Recorder['rows']>[number];
  ordersPerSecond: number;
  /** CPU of all our processes over the load, per operation of the mix. */
  cpuMsPerOp: number;
  final: Record<Status, number>;
  held: boolean;
  /** Each invariant and how many times it broke. */
  checks: { name: string; broken: number }[];
}

/** One shape, started fresh: seed, shop, check. Every invariant held when `held` is true. */
async function mixOn(shape: string, options: MixOptions): Promise<ShapeResult> {
  const { instances, start } = SHAPES[shape]!;
  const platform = await start();
  const pool = openPool(platform.url, options.customers + 4);
  // After the run, reads are also compared on each product instance directly (they share the Redis cache).
  const readers: Reader[] = [
    { name: 'via the front door', pool },
    ...Object.entries(platform.processes)
      .filter(([name]) => name.startsWith('product'))
      .map(([name, url]) => ({ name: `on ${name}`, pool: openPool(url, 8) })),
  ];
  // The retried pairs' doors: the two order instances directly (one instance: it twice; monolith: the front door).
  const orderUrls = Object.entries(platform.processes).filter(([name]) => /^(order|monolith)/.test(name));
  const doorPools = orderUrls.map(([, url]) => openPool(url, options.customers));
  const doors = [doorPools[0]!, doorPools[1] ?? doorPools[0]!] as const;
  const doorNames =
    orderUrls.length > 1
      ? `a copy to ${orderUrls.map(([n]) => n).join(', a copy to ')}`
      : `both to ${orderUrls[0]![0]}`;
  let audit: ScaleAudit | undefined;
  try {
    const tag = Date.now().toString(36);
    const scope = {
      admin: platform.token(`mix-admin-${tag}`, 'admin'),
      since: cursorBefore(Date.now()),
      prefix: `mix-${tag}-`,
    };
    const catalog = await seedCatalog(pool, scope.admin, tag);
    const run: Run = { pool, recorder: new Recorder(), catalog, thinkMs: options.thinkMs, violations: [], deferred: 0 };
    const customers = Array.from({ length: options.customers }, (_, i) => {
      const sub = `${scope.prefix}${i}`;
      return new Customer(sub, platform.token(sub, 'customer'), run);
    });
    if (instances > 0) audit = await startScaleAudit(instances);
    const retried = await retriedPairs(customers, doors, doorNames);
    const meter = new ProcessMeter(platform.processes);
    await meter.loadStarts();
    const started = performance.now();
    await Promise.all(customers.map((c) => c.shop(Date.now() + options.duration * 1000)));
    const loadEnded = Date.now();
    const seconds = (performance.now() - started) / 1000;
    await meter.loadEnded();

    const layout = instances > 0 ? ` (gateway, ${instances} product + ${instances} order instance(s))` : '';
    console.log(
      `\nmix on ${shape}${layout}: ${options.customers} customers, ${seconds.toFixed(1)} s, think ${options.thinkMs} ms, ` +
        `${catalog.length} products (${catalog.filter((p) => p.scarce).length} scarce), ${new Date().toISOString()}`,
    );
    const rows = run.recorder.rows(seconds);
    console.table(rows);
    const more = instances > 0 ? [retried, meter.check()] : [retried];
    const verdict = await checkInvariants(run, customers, loadEnded, scope, readers, audit, more);
    printOrders(run, customers, verdict);
    meter.print();
    audit?.print();
    const held = printVerdict(verdict, run.recorder);
    const count = (status: Status) => verdict.orders.filter((o) => o.status === status).length;
    return {
      shape,
      instances,
      seconds,
      all: rows.at(-1)!,
      ordersPerSecond: customers.flatMap((c) => c.orders).filter((o) => !o.retried).length / seconds,
      cpuMsPerOp: (meter.cpuSeconds() * 1000) / rows.at(-1)!.count,
      final: {
        PENDING: count('PENDING'),
        CONFIRMED: count('CONFIRMED'),
        REJECTED: count('REJECTED'),
        CANCELLED: count('CANCELLED'),
      },
      held,
      checks: verdict.checks.map(({ name, problems }) => ({ name, broken: problems.length })),
    };
  } finally {
    await audit?.close();
    await Promise.all([...readers, ...doorPools.map((pool) => ({ pool }))].map((r) => r.pool.close()));
    await platform.stop();
  }
}

/** `both` and `all` as the shapes they stand for; anything else, a comma-separated list of shapes. */
function shapesOf(option: string): string[] {
  const shapes =
    option === 'both'
      ? ['monolith', 'split']
      : option === 'all'
        ? Object.keys(SHAPES)
        : option.split(',').map((s) => s.trim());
  for (const shape of shapes)
    if (!(shape in SHAPES)) throw new Error(`unknown shape ${shape} (${Object.keys(SHAPES).join(', ')}, both, all)`);
  return shapes;
}

/** The shapes side by side, printed and written to bench/results/mix-*.{json,svg}. */
function summarize(results: ShapeResult[], options: MixOptions): void {
  console.log(`\nmix: ${options.customers} customers, ${options.duration} s per shape, ${new Date().toISOString()}`);
  const ms = (x: string) => x.replace(' ms', '');
  console.table(
    results.map((r) => ({
      shape: r.shape,
      'product + order instances': r.instances === 0 ? 'in one process' : `${r.instances} + ${r.instances}`,
      'all ops/s': r.all['ops/s'],
      'orders/s': Number(r.ordersPerSecond.toFixed(1)),
      'p50 / p95 / p99 ms': `${ms(r.all.p50)} / ${ms(r.all.p95)} / ${ms(r.all.p99)}`,
      'CPU ms per op': Number(r.cpuMsPerOp.toFixed(2)),
      final: `${r.final.CONFIRMED} CONFIRMED, ${r.final.REJECTED} REJECTED, ${r.final.CANCELLED} CANCELLED`,
      invariants: r.held ? 'all hold' : 'BROKEN',
    })),
  );
  const bars = results.flatMap((r) => [
    {
      group: 'all operations',
      label: r.shape,
      value: r.all['ops/s'],
      unit: 'ops/s',
      note: `p50 ${r.all.p50}, p99 ${r.all.p99}`,
    },
    { group: 'orders placed', label: r.shape, value: r.ordersPerSecond, unit: 'orders/s' },
  ]);
  const title = `Shop-like mix by shape (${options.customers} customers, ${options.duration} s)`;
  console.log(`chart and figures: ${writeResults('mix', title, results, bars)} (and .json)`);
}

export async function benchMix(options: MixOptions): Promise<void> {
  const shapes = shapesOf(options.shape);
  const results: ShapeResult[] = [];
  for (const shape of shapes) {
    // A check that could not finish (the platform stopped answering) fails the run like a broken invariant.
    const result = await mixOn(shape, options).catch(
      (error: unknown) => (console.log(`mix on ${shape}: ${error}`), null),
    );
    if (result) results.push(result);
    if (!result?.held) {
      console.log(`mix on ${shape}: FAILED (see above)`);
      process.exitCode = 1;
    }
  }
  if (results.length > 0) summarize(results, options);
}
