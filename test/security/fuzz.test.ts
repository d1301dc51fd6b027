import { expect } from 'chai';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';
import { createProduct, drainOutboxes, placeOrder, TEST_SETTINGS, tokens } from '../support/shop.ts';
import { fuzzed, headerSafe, hostile, sometimes } from './support/arbitraries.ts';
import { apiOperations, type Caller, type Operation } from './support/openapi.ts';
import { stateDigest } from './support/state.ts';

/**
 * OWASP API Security Top 10 (2023), schema-driven: every operation of docs/openapi.yaml gets RUNS requests
 * made by fast-check from its own parameters and body schema (fitting values mixed with hostile ones, extra
 * fields, every kind of caller). For each: never a 5xx; a refused request (4xx) changed nothing in any
 * database; a caller the operation's security does not allow never gets a 2xx. Counts are printed.
 */
const RUNS = Number(process.env.HEXASHOP_FUZZ_RUNS ?? 1000);
const SEED = process.env.HEXASHOP_FUZZ_SEED === undefined ? undefined : Number(process.env.HEXASHOP_FUZZ_SEED);

type Credential = 'anonymous' | 'customer' | 'admin' | 'keyCustomer' | 'keyAdmin' | 'badToken' | 'badKey';
const ROLE_OF: Record<Credential, Caller | 'refused'> = {
  anonymous: 'anonymous',
  customer: 'customer',
  admin: 'admin',
  keyCustomer: 'customer',
  keyAdmin: 'admin',
  badToken: 'refused',
  badKey: 'refused',
};

const KEY_SECRET = { admin: `fz-admin-${randomUUID()}`, customer: `fz-cust-${randomUUID()}` };

describe('OWASP API Top 10: schema-driven fuzzing of every operation', function () {
  this.timeout(600_000);
  let platform: TestPlatform;
  const ids = { product: [] as string[], order: [] as string[], apiKey: [] as string[] };
  const counts = new Map<string, Record<string, number>>();
  let headers: Record<Credential, Record<string, string>>;

  before(async () => {
    platform = await startMonolith({
      ...TEST_SETTINGS,
      apiKeys: `fz-admin:admin:${KEY_SECRET.admin},fz-cust:customer:${KEY_SECRET.customer}`,
    });
    const t = tokens(platform);
    const forged = jwt.sign({ role: 'admin' }, 'not-the-key-not-the-key-not-the-key!', {
      subject: 'mallory',
      expiresIn: 600,
    });
    headers = {
      anonymous: {},
      customer: { authorization: `Bearer ${t.customer('alice')}` },
      admin: { authorization: `Bearer ${t.admin}` },
      keyCustomer: { 'x-api-key': KEY_SECRET.customer },
      keyAdmin: { 'x-api-key': KEY_SECRET.admin },
      badToken: { authorization: `Bearer ${forged}` },
      badKey: { 'x-api-key': `${KEY_SECRET.admin}x` },
    };
    for (let i = 0; i < 3; i++) {
      const product = await createProduct(platform, { stock: 1_000_000 });
      ids.product.push(product.id);
    }
    for (const who of ['alice', 'bob']) {
      const placed = await placeOrder(platform, t.customer(who), [{ productId: ids.product[0]!, quantity: 1 }]);
      ids.order.push(placed.body.id as string);
    }
    for (const role of ['customer', 'admin']) {
      const key = await fetch(`${platform.url}/api/v1/api-keys`, {
        method: 'POST',
        headers: { ...headers.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `fuzz ${role}`, role }),
      });
      ids.apiKey.push(((await key.json()) as { id: string }).id);
    }
    await drainOutboxes(platform);
  });
  after(async () => {
    await platform?.dispose();
    const table = [...counts].map(([operation, c]) => ({ operation, ...c }));
    console.log('    requests per operation and what they got:');
    console.table(table);
  });

  const productIds = fc.integer({ min: 0, max: 2 }).map((i) => ids.product[i]!);

  /** A path id: one that exists (a product, someone's order), a new one, or something hostile. */
  const pathId = fc.oneof(
    { weight: 3, arbitrary: productIds },
    { weight: 3, arbitrary: fc.constantFrom(0, 1).map((i) => ids.order[i]!) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1).map((i) => ids.apiKey[i]!) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: hostile.map((v) => String(typeof v === 'string' ? v : JSON.stringify(v))) },
  );

  function requestFor(op: Operation) {
    const query = op.parameters.filter((p) => p.in === 'query');
    const header = op.parameters.filter((p) => p.in === 'header');
    return fc.record({
      credential: fc.constantFrom<Credential>(...(Object.keys(ROLE_OF) as Credential[])),
      id: pathId,
      query: fc.record(Object.fromEntries(query.map((p) => [p.name, fuzzed(p.schema)])), { requiredKeys: [] }),
      extraQuery: sometimes(fc.tuple(fc.constantFrom('role', 'customerId', 'admin', 'limit'), hostile), 6),
      headers: fc.record(Object.fromEntries(header.map((p) => [p.name, fuzzed(p.schema)])), { requiredKeys: [] }),
      body: op.body ? fuzzed(op.body, { productId: productIds }) : fc.constant(undefined),
      rawBody: sometimes(fc.constantFrom('{', 'null', '[]', '"x"', '{"items":', '\u0000'), 20),
    });
  }

  function count(op: Operation, status: number) {
    const key = `${op.method} ${op.path}`;
    const c = counts.get(key) ?? { requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    c.requests! += 1;
    const bucket = `${Math.floor(status / 100)}xx`;
    c[bucket] = (c[bucket] ?? 0) + 1;
    counts.set(key, c);
  }

  // Deletions and revocations last: the other operations keep finding the products and keys they are given.
  const destructive = (op: Operation) => op.method === 'DELETE' || op.path.endsWith('/revoke');
  const operations = apiOperations().sort((a, b) => Number(destructive(a)) - Number(destructive(b)));
  for (const op of operations) {
    it(`${op.method} ${op.path}: ${RUNS} requests, no 5xx, refusals change nothing, no access beyond its security`, async () => {
      await fc.assert(
        fc.asyncProperty(requestFor(op), async (r) => {
          const path = op.path.replace('{id}', encodeURIComponent(r.id.toWellFormed()));
          const search = new URLSearchParams();
          for (const [k, v] of Object.entries(r.query)) search.set(k, headerSafe(v));
          if (r.extraQuery) search.set(r.extraQuery[0], headerSafe(r.extraQuery[1]));
          const sent: Record<string, string> = { ...headers[r.credential] };
          for (const [k, v] of Object.entries(r.headers)) sent[k.toLowerCase()] = headerSafe(v);
          let body: string | undefined;
          if (op.body || (r.rawBody && op.method !== 'GET')) {
            body = r.rawBody ?? JSON.stringify(r.body ?? null);
            sent['content-type'] = 'application/json';
          }
          const before = await stateDigest(platform);
          const response = await fetch(`${platform.url}${path}${search.size ? `?${search}` : ''}`, {
            method: op.method,
            headers: sent,
            body,
          });
          const text = await response.text();
          count(op, response.status);
          const what = `${op.method} ${path.slice(0, 200)}?${String(search).slice(0, 200)} as ${r.credential}: ${response.status} ${text.slice(0, 300)}`;
          expect(response.status, what).to.be.below(500);
          const role = ROLE_OF[r.credential];
          if (role === 'refused' || !op.allowed.has(role)) expect(response.status, what).to.be.at.least(400);
          if (response.status >= 400) {
            // 431: Node's HTTP parser refuses a request line and headers over 16 KiB before any of our code.
            if (response.status !== 431) {
              expect(response.headers.get('content-type'), what).to.match(/^application\/problem\+json/);
            }
            expect(await stateDigest(platform), `a refused request changed state: ${what}`).to.equal(before);
          } else {
            await drainOutboxes(platform);
          }
        }),
        {
          numRuns: RUNS,
          ...(SEED === undefined ? {} : { seed: SEED }),
          endOnFailure: true,
          // The failing request is in the assertion's message; the counterexample itself can be 20 kB of 'x'.
          reporter: (details) => {
            if (details.failed)
              throw new Error(`seed ${details.seed}, after ${details.numRuns} runs: ${String(details.errorInstance)}`);
          },
        },
      );
    });
  }
});
