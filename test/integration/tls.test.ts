import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { ConfigError, loadConfig } from '../../src/bootstrap/config.ts';
import { closedPort } from '../support/product-service.ts';
import { startTestRole, type TestRole } from '../support/roles.ts';
import { type Product, TEST_SETTINGS, uniqueSku } from '../support/shop.ts';

/** A throw-away self-signed certificate for 127.0.0.1 (P-256), made by openssl for this run. */
async function selfSigned(dir: string) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}

describe('TLS', function () {
  this.timeout(30_000);
  let dir: string;
  let files: { cert: string; key: string };
  let shop: TestRole;
  let trusting: Agent;
  let plainPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hexashop-tls-'));
    files = await selfSigned(dir);
    plainPort = await closedPort();
    shop = await startTestRole({
      role: 'monolith',
      ...TEST_SETTINGS,
      tlsCertFile: files.cert,
      tlsKeyFile: files.key,
      httpRedirectPort: plainPort,
    });
    trusting = new Agent({ connect: { ca: readFileSync(files.cert) } });
  });
  after(async () => {
    await trusting?.close();
    await shop?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS: a write and a read round trip with a client that trusts the certificate', async () => {
    expect(shop.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    const token = shop.token({ id: 'admin-1', role: 'admin' });
    const body = { sku: uniqueSku('TLS'), name: 'Over TLS', priceCents: 1, currency: 'EUR', stock: 1 };
    const created = await request(`${shop.url}/api/v1/products`, {
      dispatcher: trusting,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(created.statusCode).to.equal(201);
    const product = (await created.body.json()) as Product;
    const read = await request(`${shop.url}/api/v1/products/${product.id}`, { dispatcher: trusting });
    expect(read.statusCode).to.equal(200);
    expect(((await read.body.json()) as Product).sku).to.equal(body.sku);
    expect(read.headers['strict-transport-security']).to.match(/max-age=\d+/);
  });

  it('is really TLS: a client that does not trust the certificate is refused', async () => {
    const error = await request(`${shop.url}/health/live`).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
    expect(String((error as Error & { code?: string }).code)).to.match(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
  });

  it('answers plain HTTP on the TLS port with nothing: the connection is closed', async () => {
    const plain = shop.url.replace('https:', 'http:');
    const error = await request(`${plain}/health/live`).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Error);
  });

  it('redirects a plain-HTTP GET without credentials to HTTPS with 308', async () => {
    const r = await request(`http://127.0.0.1:${plainPort}/api/v1/products?limit=5`);
    expect(r.statusCode).to.equal(308);
    const location = String(r.headers.location);
    await r.body.dump();
    expect(location).to.equal(`${shop.url}/api/v1/products?limit=5`);
    const followed = await request(location, { dispatcher: trusting });
    expect(followed.statusCode).to.equal(200);
    await followed.body.dump();
  });

  it('refuses plain-HTTP writes and any plain-HTTP request with credentials (403, no redirect)', async () => {
    const token = shop.token({ id: 'admin-1', role: 'admin' });
    for (const [method, headers] of [
      ['POST', { 'content-type': 'application/json' }],
      ['GET', { authorization: `Bearer ${token}` }],
      ['GET', { 'x-api-key': 'k'.repeat(40) }],
    ] as const) {
      const r = await request(`http://127.0.0.1:${plainPort}/api/v1/products`, {
        method,
        headers,
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(r.statusCode, `${method} ${JSON.stringify(headers)}`).to.equal(403);
      expect(r.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(((await r.body.json()) as { code: string }).code).to.equal('HTTPS_REQUIRED');
      expect(r.headers.location).to.equal(undefined);
    }
  });

  describe('configuration', () => {
    const problemsOf = (flags: Record<string, unknown>) => {
      try {
        loadConfig({ flags, env: {} });
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as ConfigError).problems.join('\n');
      }
      throw new Error('the configuration was accepted');
    };

    it('needs both the certificate and the key', () => {
      expect(problemsOf({ tlsCertFile: files.cert })).to.include('--tls-key-file');
      expect(problemsOf({ tlsKeyFile: files.key })).to.include('--tls-cert-file');
    });

    it('refuses files it cannot read, and a redirect port without TLS', () => {
      expect(problemsOf({ tlsCertFile: join(dir, 'missing.pem'), tlsKeyFile: files.key })).to.include(
        '--tls-cert-file (HEXASHOP_TLS_CERT_FILE): must name a readable file',
      );
      expect(problemsOf({ httpRedirectPort: 8081 })).to.include('--http-redirect-port');
    });
  });
});
