import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { type JwtSettings, type Principal, signToken } from '../../src/adapters/auth/jwt.ts';
import { generateSigningKey, signingKeyFromPem } from '../../src/adapters/auth/keys.ts';
import { call, eventually } from '../support/http.ts';
import { type SplitTopology, printLogsOnFailure, startSplit } from '../support/split.ts';

/**
 * Issue 12 end to end: the three roles as processes with asymmetric keys. Only this test holds the user-token
 * issuer's private key; the gateway learns the public key from a JWKS URL, product and order from a file.
 * The order role alone holds the service key, whose public half only the product role's internal API trusts.
 */
describe('split topology with asymmetric tokens (issuer key, service key, JWKS URL)', function () {
  this.timeout(180_000);
  let split: SplitTopology;
  let dir: string;
  let jwksServer: Server;
  const issuer = signingKeyFromPem(generateSigningKey('ES256').privatePem);
  const servicePem = generateSigningKey('RS256').privatePem;
  const service = signingKeyFromPem(servicePem);
  const settings: JwtSettings = {
    issuer: 'hexashop',
    audience: 'hexashop-api',
    signer: issuer,
    serviceSigner: service,
  };
  const userToken = (principal: Principal) => signToken(settings, principal, 600);
  const serviceKeyToken = (principal: Principal) => signToken(settings, principal, 600, 'service');
  const jwks = (...keys: (typeof issuer)[]) => JSON.stringify({ keys: keys.map((k) => k.publicJwk) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hexashop-keys-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text, { mode: 0o600 });
      return join(dir, name);
    };
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks(issuer));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
    const issuerJwks = file('issuer.jwks.json', jwks(issuer));
    split = await startSplit(
      {},
      {
        gateway: { JWKS_URL: jwksUrl },
        product: {
          JWT_PUBLIC_KEYS_FILE: issuerJwks,
          SERVICE_PUBLIC_KEYS_FILE: file('service.jwks.json', jwks(service)),
        },
        order: { JWT_PUBLIC_KEYS_FILE: issuerJwks, SERVICE_KEY_FILE: file('service.pem', servicePem) },
      },
    );
    expect(readFileSync(join(dir, 'service.pem'), 'utf8')).to.contain('PRIVATE KEY');
  });
  after(async () => {
    await split?.dispose();
    await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(printLogsOnFailure(() => split));

  const api = (method: string, path: string, options: Parameters<typeof call>[3] = {}) =>
    call(split.url, method, path, options);

  it('serves issuer-signed tokens, and a sync order confirms through the service-key path', async () => {
    const admin = userToken({ id: 'root', role: 'admin' });
    const created = await api('POST', '/api/v1/products', {
      token: admin,
      body: { sku: `ASYM-${Date.now()}`, name: 'Signed thing', priceCents: 700, currency: 'EUR', stock: 3 },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const alice = userToken({ id: 'alice', role: 'customer' });
    const order = await eventually(async () => {
      const placed = await api('POST', '/api/v1/orders?mode=sync', {
        token: alice,
        body: { items: [{ productId: created.body.id, quantity: 2 }] },
      });
      // The order service prices from its catalog replica: retry until it has learnt the product.
      return placed.status === 201 && placed.body.status === 'CONFIRMED' ? placed : undefined;
    }, 30_000);
    expect(order.body).to.include({ customerId: 'alice', status: 'CONFIRMED' });
    const stock = await api('GET', `/api/v1/products/${created.body.id}`);
    expect(stock.body.stock).to.be.at.most(1);
  });

  it('refuses on the public API a token signed by the service key, whatever role it claims', async () => {
    for (const role of ['admin', 'customer', 'service'] as const) {
      const token = serviceKeyToken({ id: 'order-service', role });
      const viaGateway = await api('POST', '/api/v1/products', {
        token,
        body: { sku: `FORGED-${role}`, name: 'x', priceCents: 1, currency: 'EUR', stock: 1 },
      });
      expect(viaGateway.status, `${role} via the gateway`).to.equal(401);
      const atProduct = await call(split.urls.product, 'GET', '/api/v1/products', { token });
      expect(atProduct.status, `${role} at the product service`).to.equal(401);
    }
  });

  it('refuses an HS256 token made with the old shared secret, and an issuer token on the internal API', async () => {
    const legacy = jwt.sign({ role: 'admin' }, 'e2e-only-signing-key-of-enough-length-0123456789', {
      algorithm: 'HS256',
      subject: 'root',
      issuer: 'hexashop',
      audience: 'hexashop-api',
      expiresIn: 600,
    });
    expect((await api('GET', '/api/v1/orders', { token: legacy })).status).to.equal(401);
    const body = { orderId: randomUUID(), items: [{ productId: randomUUID(), quantity: 1 }] };
    const asIssuer = userToken({ id: 'order-service', role: 'service' });
    const refused = await call(split.urls.product, 'POST', '/internal/v1/reservations', { token: asIssuer, body });
    expect(refused.status).to.equal(401);
    const asService = serviceKeyToken({ id: 'order-service', role: 'service' });
    const served = await call(split.urls.product, 'POST', '/internal/v1/reservations', { token: asService, body });
    expect(served.status, JSON.stringify(served.body)).to.equal(200);
  });
});
