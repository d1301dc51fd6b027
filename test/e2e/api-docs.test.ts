import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type BrowserContext, chromium, type Page, type Response } from 'playwright-core';
import { parse } from 'yaml';
import { call } from '../support/http.ts';
import { startMonolith, type TestPlatform } from '../support/monolith.ts';

const spec = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as {
  paths: Record<string, unknown>;
};
const specPaths = Object.keys(spec.paths);

/** A name for the server that is not loopback, so Chromium treats it like a real plain-HTTP deployment. */
const HOST = 'hexashop.test';

/**
 * The interactive API reference in headless Chromium (Debian's, installed by .ci/run): the page loads from
 * the server alone, under the docs' Content-Security-Policy, lists the whole document, and "try it out"
 * reaches the API on the page's own origin. Chromium reaches the server as http://hexashop.test:<port>:
 * loopback addresses count as secure, which would hide what a CSP does on plain HTTP (helmet's default
 * `upgrade-insecure-requests` sends every asset request to https:// there).
 */
describe('API docs in a browser (e2e)', function () {
  this.timeout(90_000);
  let platform: TestPlatform;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  let origin: string;
  let sku: string;
  let loaded: Response | null;
  /** Every URL the browser requested, and what went wrong: script errors, failed requests, CSP violations. */
  const requested: string[] = [];
  const errors: string[] = [];

  before(async () => {
    platform = await startMonolith();
    origin = `http://${HOST}:${new URL(platform.url).port}`;
    profile = mkdtempSync(join(tmpdir(), 'hexashop-chromium-'));
    // A persistent context is how Playwright takes a --user-data-dir: a fresh profile per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
      ],
      timeout: 30_000,
    });
    browser.setDefaultTimeout(15_000);
    browser.on('request', (request) => void requested.push(request.url()));
    browser.on('requestfailed', (request) => void errors.push(`${request.url()}: ${request.failure()?.errorText}`));
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => void errors.push(error.message));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) errors.push(message.text());
    });

    // A product first, so that "try it out" has one to list.
    sku = `DOCS-${Date.now()}`;
    const created = await call(platform.url, 'POST', '/api/v1/products', {
      token: platform.token({ id: 'root', role: 'admin' }),
      body: { sku, name: 'Documented mug', priceCents: 900, currency: 'EUR', stock: 3 },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    loaded = await page.goto(`${origin}/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Hexashop API' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await platform?.dispose();
  });

  it('serves the document as JSON at /openapi.json', async () => {
    const served = await call(platform.url, 'GET', '/openapi.json');
    expect(served.status).to.equal(200);
    expect(served.headers.get('content-type')).to.match(/^application\/json/);
    expect(Object.keys(served.body.paths)).to.deep.equal(specPaths);
    expect(served.body).to.deep.equal(spec);
  });

  it('shows every path of the document at /docs, loaded from the server alone', async () => {
    expect(loaded?.status()).to.equal(200);
    expect(page.url()).to.equal(`${origin}/docs/`);
    const shown = await page
      .locator('.opblock-summary-path')
      .evaluateAll((elements) => elements.map((e) => e.getAttribute('data-path')));
    expect(new Set(shown)).to.deep.equal(new Set(specPaths));

    expectOnlyTheServerAndNoErrors();
  });

  it('tries GET /api/v1/products out against the same server', async () => {
    const operation = page.locator('#operations-products-listProducts');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();
    const live = operation.locator('.live-responses-table tr.response');
    await live.waitFor();
    expect(await live.locator('.response-col_status').innerText()).to.equal('200');
    expect(await live.locator('.response-col_description').innerText()).to.include(sku);
    expect(await operation.locator('.request-url').innerText()).to.include(`${origin}/api/v1/products`);
    expectOnlyTheServerAndNoErrors();
  });

  function expectOnlyTheServerAndNoErrors() {
    const elsewhere = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    expect(elsewhere, 'requests to other origins').to.deep.equal([]);
    expect(errors, 'errors in the page').to.deep.equal([]);
  }
});
