/** Helpers for the HTTP suites: problem+json assertions, products the order replica knows, order settling. */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { call, eventually, type HttpResult } from './http.ts';
import type { TestPlatform } from './monolith.ts';

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Order {
  id: string;
  customerId: string;
  status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
  rejectionReason?: string;
  items: {
    productId: string;
    sku: string;
    name: string;
    unitPriceCents: number;
    quantity: number;
  }[];
  totalCents: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
}

export type Item = { productId: string; quantity: number };

/**
 * Settings every suite starts its platform with: rate limits far above what a suite sends, so that only a
 * test about rate limiting (which sets its own) can ever see a 429.
 */
export const TEST_SETTINGS = { rateLimitRead: 1_000_000, rateLimitWrite: 1_000_000 } as const;

/** A SKU no other test (or earlier run on the same data dir) has used. */
export const uniqueSku = (prefix = 'T') => `${prefix}-${randomUUID().slice(0, 13)}`;

/** Asserts an RFC 9457 problem response with the contract's fields, and optionally its status and code. */
export function expectProblem(result: HttpResult, status: number, code?: string): void {
  const context = `${status} expected, got ${result.status}: ${JSON.stringify(result.body)}`;
  expect(result.status, context).to.equal(status);
  expect(result.headers.get('content-type'), context).to.match(/^application\/problem\+json/);
  const body = result.body as Record<string, unknown>;
  expect(body, context).to.be.an('object');
  expect(body.type, context).to.be.a('string').and.not.equal('');
  expect(body.title, context).to.be.a('string').and.not.equal('');
  expect(body.status, context).to.equal(status);
  expect(body.detail, context).to.be.a('string');
  expect(body.code, context)
    .to.be.a('string')
    .and.match(/^[A-Z_]+$/);
  if (code) expect(body.code, context).to.equal(code);
}

/** Publishes everything in every outbox now; after it, the other module has handled what was committed. */
export async function drainOutboxes(platform: TestPlatform): Promise<void> {
  for (let pass = 0; pass < 3; pass++) await Promise.all(platform.running.relays.map((r) => r.drain()));
}

/** Tokens for one platform, by name. */
export function tokens(platform: TestPlatform) {
  return {
    admin: platform.token({ id: 'admin-1', role: 'admin' }),
    customer: (id: string) => platform.token({ id, role: 'customer' }),
  };
}

/**
 * Creates a product as admin, and returns at once as a client would: nothing waits for the order module's
 * catalog replica (orders do not depend on it).
 */
export async function createProduct(
  platform: TestPlatform,
  overrides: Partial<Pick<Product, 'sku' | 'name' | 'description' | 'priceCents' | 'currency' | 'stock'>> = {},
): Promise<Product> {
  const body = {
    sku: uniqueSku(),
    name: 'Widget',
    priceCents: 1250,
    currency: 'EUR',
    stock: 10,
    ...overrides,
  };
  const created = await call<Product>(platform.url, 'POST', '/api/v1/products', {
    token: tokens(platform).admin,
    body,
  });
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  return created.body;
}

export async function stockOf(platform: TestPlatform, productId: string): Promise<number> {
  const r = await call<Product>(platform.url, 'GET', `/api/v1/products/${productId}`);
  expect(r.status, JSON.stringify(r.body)).to.equal(200);
  return r.body.stock;
}

export async function stocksOf(platform: TestPlatform, productIds: string[]): Promise<number[]> {
  return Promise.all(productIds.map((id) => stockOf(platform, id)));
}

export function placeOrder(
  platform: TestPlatform,
  token: string,
  items: Item[],
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<Order>> {
  return call<Order>(platform.url, 'POST', `/api/v1/orders${options.query ?? ''}`, {
    token,
    body: { items },
    ...(options.headers ? { headers: options.headers } : {}),
  });
}

export async function getOrder(platform: TestPlatform, token: string, id: string): Promise<HttpResult<Order>> {
  return call<Order>(platform.url, 'GET', `/api/v1/orders/${id}`, { token });
}

/** Polls an order until it leaves PENDING; returns it in its final state. */
export async function settled(platform: TestPlatform, token: string, id: string, timeoutMs = 10_000): Promise<Order> {
  return eventually(
    async () => {
      const r = await getOrder(platform, token, id);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      return r.body.status === 'PENDING' ? undefined : r.body;
    },
    timeoutMs,
    `order ${id} to settle`,
  );
}

/** Every order visible to `token` (admin: all), following nextCursor to the end. */
export async function listAllOrders(platform: TestPlatform, token: string, query = ''): Promise<Order[]> {
  const all: Order[] = [];
  let cursor: string | null = null;
  do {
    const qs: string = `?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await call<{ items: Order[]; nextCursor: string | null }>(platform.url, 'GET', `/api/v1/orders${qs}`, {
      token,
    });
    expect(page.status, JSON.stringify(page.body)).to.equal(200);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

/** A syntactically valid UUID (v7 shape) that names nothing. */
export const absentId = () => {
  const hex = randomUUID().replaceAll('-', '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};
