import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Router } from 'express';
import { parse } from 'yaml';
import { MAX_ITEMS, MAX_QUANTITY } from '../../src/modules/order/domain/order.ts';
import { apiKeyRouter } from '../../src/modules/access/http/api-key.router.ts';
import { orderRouter } from '../../src/modules/order/http/order.router.ts';
import { MAX_PRICE_CENTS } from '../../src/modules/product/domain/money.ts';
import { MAX_STOCK } from '../../src/modules/product/domain/product.ts';
import { productRouter } from '../../src/modules/product/http/product.router.ts';

type Json = Record<string, any>;

const spec: Json = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'));

/** Follows a local `$ref` (`#/components/...`) to what it points at. */
function deref(node: Json): Json {
  if (typeof node?.$ref !== 'string') return node;
  const target = (node.$ref as string)
    .slice(2)
    .split('/')
    .reduce((at: Json, key) => at[key.replaceAll('~1', '/').replaceAll('~0', '~')], spec);
  return deref(target);
}

/** `METHOD /path/{param}` for every route an Express router serves, mounted at `prefix`. */
function servedRoutes(router: Router, prefix: string): string[] {
  return router.stack.flatMap((layer) => {
    const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
    if (!route) return [];
    const path = `${prefix}${route.path === '/' ? '' : route.path}`.replace(/:(\w+)/g, '{$1}');
    return Object.keys(route.methods).map((method) => `${method.toUpperCase()} ${path}`);
  });
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];
const operations = Object.entries(spec.paths as Json).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m) => ({
    path,
    method: m,
    op: item[m] as Json,
  })),
);
const apiOperations = operations.filter((o) => o.path.startsWith('/api/v1/'));

describe('docs/openapi.yaml', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(spec.openapi).to.match(/^3\.1\.\d+$/);
    expect(spec.info.title).to.be.a('string');
  });

  it('lists every route template the HTTP layer serves under paths', () => {
    const templates = [
      '/api/v1/products',
      '/api/v1/products/{id}',
      '/api/v1/orders',
      '/api/v1/orders/{id}',
      '/api/v1/orders/{id}/cancel',
      '/api/v1/api-keys',
      '/api/v1/api-keys/{id}',
      '/api/v1/api-keys/{id}/revoke',
      '/api/v1/api-keys/{id}/roll',
      '/health/live',
      '/health/ready',
      '/metrics',
    ];
    expect(Object.keys(spec.paths)).to.have.members(templates);
  });

  it('documents every method the product and order routers serve, and nothing more', () => {
    // Building a router only registers handlers; the dependencies are not touched until a request comes.
    const served = [
      ...servedRoutes(productRouter({} as never), '/api/v1/products'),
      ...servedRoutes(orderRouter({} as never, 'sync'), '/api/v1/orders'),
      ...servedRoutes(apiKeyRouter({} as never), '/api/v1/api-keys'),
    ];
    const documented = apiOperations.map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(documented).to.have.members(served);
  });

  it('gives every operation an operationId, unique across the document', () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.every((id) => typeof id === 'string')).to.equal(true);
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('documents 400, 401 and 429 problem+json responses on every API operation', () => {
    for (const { path, method, op } of apiOperations) {
      for (const status of ['400', '401', '429']) {
        expect(op.responses, `${method} ${path}`).to.have.property(status);
      }
      for (const [status, response] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400) continue;
        expect(deref(response).content, `${method} ${path} ${status}`).to.have.property('application/problem+json');
      }
    }
  });

  it('documents 403 on the operations that need a role, and the roles they allow', () => {
    for (const { path, method, op } of apiOperations) {
      const roles = (op.security as Json[]).flatMap((req) => req.bearerAuth ?? []);
      if (method === 'get' && path.startsWith('/api/v1/products')) {
        expect(op.security, `${method} ${path} is public`).to.deep.include({});
        continue;
      }
      expect(op.responses, `${method} ${path}`).to.have.property('403');
      const expected = path.startsWith('/api/v1/orders') ? ['customer', 'admin'] : ['admin'];
      expect(roles, `${method} ${path}`).to.have.members(expected);
    }
  });

  it('documents 413 and 415 on every operation that takes a body, whose schema rejects unknown fields', () => {
    for (const { path, method, op } of apiOperations.filter((o) => o.op.requestBody)) {
      expect(op.responses, `${method} ${path}`).to.include.keys('413', '415');
      const schema = deref(op.requestBody.content['application/json'].schema);
      expect(schema.additionalProperties, `${method} ${path}`).to.equal(false);
    }
  });

  it('keeps the problem shape of RFC 9457 with the stable code and field errors', () => {
    const problem = spec.components.schemas.Problem;
    expect(problem.required).to.include.members(['type', 'title', 'status', 'detail', 'code', 'instance']);
    expect(deref(problem.properties.errors.items).required).to.have.members(['pointer', 'detail']);
  });

  it('uses the limits the code enforces', () => {
    const { schemas, parameters } = spec.components;
    expect(parameters.Limit.schema).to.include({
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    expect(schemas.PlaceOrder.properties.items).to.include({
      minItems: 1,
      maxItems: MAX_ITEMS,
    });
    expect(schemas.PlaceOrderItem.properties.quantity).to.include({
      minimum: 1,
      maximum: MAX_QUANTITY,
    });
    expect(schemas.PriceCents).to.include({
      minimum: 0,
      maximum: MAX_PRICE_CENTS,
    });
    expect(schemas.Stock).to.include({ minimum: 0, maximum: MAX_STOCK });
    expect(schemas.ProductName).to.include({ minLength: 1, maxLength: 200 });
    expect(schemas.Description).to.include({ maxLength: 5000 });
    expect(schemas.Currency.pattern).to.equal('^[A-Z]{3}$');
    expect(schemas.Sku.pattern).to.equal('^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$');
    expect(parameters.IdempotencyKey.schema).to.include({
      minLength: 1,
      maxLength: 255,
    });
  });

  it('answers an order placement with 201 (sync) or 202 (async) and their headers', () => {
    const place = spec.paths['/api/v1/orders'].post;
    expect(place.responses['201'].headers).to.have.property('Location');
    expect(place.responses['202'].headers).to.include.keys('Location', 'Preference-Applied');
    const headers = (place.parameters as Json[]).map((p) => deref(p)).filter((p) => p.in === 'header');
    expect(headers.map((p) => p.name)).to.include.members(['Idempotency-Key', 'Prefer']);
    expect(place.responses).to.have.property('422');
  });
});
