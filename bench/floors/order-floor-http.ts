/**
 * The order floor behind HTTP (`floor+http` in floors.ts): order-floor.ts's OrderFloor, the same writes
 * per order, behind a bare node:http server, so that autocannon drives it exactly as it drives our path
 * and both pay for HTTP. Per request, and nothing more: the bearer token verified (HS256 with node:crypto,
 * a key created once; algorithm, expiry, issuer, audience, subject and role checked), the JSON body read
 * and parsed, the order placed (sync: tx1, tx2, tx3, answered 201 after tx3; async: tx1, answered 202, the
 * relays and consumers settle it), and the order written back as JSON shaped like our Order response. No
 * framework, routing table, schema validation, rate limits, metrics, logging or problem documents.
 *
 *   node bench/floors/order-floor-http.ts <port> <sync|async> <sqlite|mysql> <product db> <order db>
 *
 * with FLOOR_JWT={"secret","issuer","audience"} in the environment. One placement mode per process (the
 * StockReserved consumer differs by mode, as in-process floors are one per mode). Serves:
 *
 *   POST /orders?mode=<the mode>   {"items":[{"productId","quantity"}]}   201 / 202 with the order
 *   GET  /stats                    placed, confirmed, inFlight, lastConfirmedAt (epoch ms), commits…
 *   GET  /health/live
 *
 * SIGTERM: stops taking requests, waits for those in flight, relays what is still due, exits.
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Storage } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import type { RequestedItem } from '../../src/modules/product/domain/reservation.ts';
import { type FloorOrder, OrderFloor, type PlacementMode } from './order-floor.ts';

const [port, mode, storage, productDb, orderDb] = [
  Number(process.argv[2]),
  process.argv[3] as PlacementMode,
  process.argv[4] as Storage,
  process.argv[5]!,
  process.argv[6]!,
];
if (mode !== 'sync' && mode !== 'async') throw new Error(`mode: sync or async, not ${mode}`);
const jwt = JSON.parse(process.env.FLOOR_JWT ?? '{}') as { secret: string; issuer: string; audience: string };
const key = createSecretKey(Buffer.from(jwt.secret, 'utf8'));

const floor = new OrderFloor({ storage, productDb, orderDb }, mode);

/** What GET /stats answers; times are epoch ms (performance.timeOrigin based), comparable across processes. */
export interface OrderFloorStats {
  /** Orders answered 201/202. */
  placed: number;
  confirmed: number;
  /** Requests being handled right now. */
  inFlight: number;
  /** Requests answered other than 2xx. */
  failed: number;
  lastConfirmedAt: number;
  commits: number;
  deadlockRetries: number;
  relaying: boolean;
}

let placed = 0;
let inFlight = 0;
let failed = 0;

const stats = (): OrderFloorStats => ({
  placed,
  confirmed: floor.confirmed,
  inFlight,
  failed,
  lastConfirmedAt: floor.lastConfirmedAt && performance.timeOrigin + floor.lastConfirmedAt,
  commits: floor.commits,
  deadlockRetries: floor.deadlockRetries,
  relaying: floor.relaying,
});

interface Customer {
  id: string;
  role: 'customer' | 'admin';
}

const CLOCK_TOLERANCE_S = 5;

/** The principal a valid `Bearer <HS256 JWT>` names, or undefined. */
function verify(authorization: string | undefined): Customer | undefined {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const parts = authorization.slice('Bearer '.length).split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const head = decode(header);
  if (head?.alg !== 'HS256' || 'crit' in head) return undefined;
  const claims = decode(payload);
  const now = Date.now() / 1000;
  if (typeof claims?.exp !== 'number' || claims.exp + CLOCK_TOLERANCE_S <= now) return undefined;
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_TOLERANCE_S > now) return undefined;
  if (claims.iss !== jwt.issuer) return undefined;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(jwt.audience)) return undefined;
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) return undefined;
  if (claims.role !== 'customer' && claims.role !== 'admin') return undefined;
  return { id: claims.sub, role: claims.role };
}

function decode(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The body's items as the floor takes them, or undefined when they are not a list of such items. */
function itemsOf(body: string): RequestedItem[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const items = (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const requested: RequestedItem[] = [];
  for (const item of items as { productId?: unknown; quantity?: unknown }[]) {
    const { productId, quantity } = item ?? {};
    if (typeof productId !== 'string' || !Number.isInteger(quantity) || (quantity as number) < 1) return undefined;
    requested.push({ productId, quantity: quantity as number });
  }
  return requested;
}

const orderJson = (order: FloorOrder) => ({
  id: order.id,
  customerId: order.customerId,
  status: order.status,
  items: order.items,
  totalCents: order.totalCents,
  currency: order.currency,
  createdAt: order.createdAt.toISOString(),
  updatedAt: order.updatedAt.toISOString(),
});

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

let reported = 0;
function fail(res: ServerResponse, status: number, why: unknown) {
  failed++;
  if (status >= 500 && reported++ < 5)
    console.error(`order-floor-http: ${why instanceof Error ? why.message : String(why)}`);
  send(res, status, { status });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function placeOrder(req: IncomingMessage, res: ServerResponse, query: string): Promise<void> {
  const customer = verify(req.headers.authorization);
  if (!customer) return fail(res, 401, 'unauthenticated');
  const body = await readBody(req);
  const asked = new URLSearchParams(query).get('mode') ?? mode;
  if (asked !== mode) return fail(res, 400, `this floor places ${mode} orders, not ${asked}`);
  const items = itemsOf(body);
  if (!items) return fail(res, 400, 'bad body');
  const order = { customerId: customer.id, items };
  const placing = mode === 'sync' ? floor.placeSync(order) : floor.placeAsync(order);
  const result = await placing;
  placed++;
  send(res, mode === 'sync' ? 201 : 202, orderJson(result), { location: `/orders/${result.id}` });
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const [path, query] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
  if (req.method === 'POST' && path === '/orders') {
    inFlight++;
    placeOrder(req, res, query)
      .catch((error: unknown) => fail(res, 503, error))
      .finally(() => inFlight--);
    return;
  }
  if (req.method === 'GET' && path === '/stats') return send(res, 200, stats());
  if (req.method === 'GET' && path === '/health/live') return send(res, 200, { status: 'ok' });
  send(res, 404, { status: 404 });
});
server.listen(port, '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void (async () => {
    while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    try {
      await floor.drain();
    } catch (error) {
      console.error(`order-floor-http: relaying what was still due failed: ${(error as Error).message}`);
    }
    await floor.close().catch(() => undefined);
    process.exit(0);
  })();
});
