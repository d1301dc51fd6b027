import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../src/bootstrap/config.ts';
import { createGateway, type Gateway } from '../../../src/edge/gateway/gateway.router.ts';
import { reloadUpstreamsFile } from '../../../src/edge/gateway/upstreams-file.ts';
import { capturingLogger } from '../../support/log-capture.ts';

/** An instance that answers with its name after `delayMs`. */
async function instance(name: string, delayMs = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    setTimeout(() => res.setHeader('content-type', 'text/plain').end(name), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('gateway upstreams reloaded from a file (blue-green switch without a restart)', () => {
  const { logger, lines } = capturingLogger();
  let dir: string;
  let gateway: Gateway;
  let front: Server;
  let frontUrl: string;
  const servers: Server[] = [];
  const file = () => join(dir, 'upstreams.json');
  const write = (content: unknown) =>
    writeFileSync(file(), typeof content === 'string' ? content : JSON.stringify(content));
  const urls = (service: 'product' | 'order') => gateway.upstreams[service].instances.map((i) => i.url);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hexashop-upstreams-'));
    lines.length = 0;
    gateway = createGateway({
      productUpstreams: ['http://127.0.0.1:1/blue-product'],
      orderUpstreams: ['http://127.0.0.1:1/blue-order'],
      logger,
      health: { intervalMs: 0 },
    });
    front = createServer((req, res) => void gateway.forward(gateway.route(req.url!)!, req, res));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await gateway.close();
    for (const server of [front, ...servers.splice(0)]) server.closeAllConnections();
    await Promise.all([front, ...servers].map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('swaps both pools at once, keeping the state of an instance whose URL stays', () => {
    const kept = gateway.upstreams.product.instances[0]!;
    kept.failed(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED', false);
    expect(kept.health).to.equal('ejected');

    write({ product: [kept.url, 'http://127.0.0.1:1/green-product'], order: ['http://127.0.0.1:1/green-order'] });
    expect(reloadUpstreamsFile(gateway, file(), logger)).to.equal(true);

    expect(urls('product')).to.deep.equal([kept.url, 'http://127.0.0.1:1/green-product']);
    expect(urls('order')).to.deep.equal(['http://127.0.0.1:1/green-order']);
    expect(gateway.upstreams.product.instances[0]).to.equal(kept);
    expect(kept.health, 'its ejection survives the reload').to.equal('ejected');
    expect(gateway.upstreams.product.pick()?.url).to.equal('http://127.0.0.1:1/green-product');
    const line = lines.find((l) => l.code === 'UPSTREAMS_RELOADED');
    expect(line).to.deep.include({
      product: { added: ['http://127.0.0.1:1/green-product'], removed: [], kept: [kept.url] },
      order: { added: ['http://127.0.0.1:1/green-order'], removed: ['http://127.0.0.1:1/blue-order'], kept: [] },
    });
  });

  for (const [what, content] of [
    ['not JSON', '{"product": ['],
    ['a service missing', { product: ['http://127.0.0.1:1'] }],
    ['an empty list', { product: [], order: ['http://127.0.0.1:1'] }],
    ['a URL that is not http', { product: ['ftp://127.0.0.1:1'], order: ['http://127.0.0.1:1'] }],
    ['an unknown key', { product: ['http://127.0.0.1:1'], order: ['http://127.0.0.1:1'], cart: [] }],
  ] as const) {
    it(`refuses a file with ${what} in one line and keeps the upstreams in use`, () => {
      const before = { product: urls('product'), order: urls('order') };
      write(content);
      expect(reloadUpstreamsFile(gateway, file(), logger)).to.equal(false);
      expect({ product: urls('product'), order: urls('order') }).to.deep.equal(before);
      const refused = lines.filter((l) => l.code === 'UPSTREAMS_FILE_INVALID');
      expect(refused).to.have.length(1);
      expect(refused[0]!.level).to.equal('error');
      expect(refused[0]!.problem).to.be.a('string').and.not.equal('');
    });
  }

  it('refuses a missing file the same way', () => {
    expect(reloadUpstreamsFile(gateway, join(dir, 'nowhere.json'), logger)).to.equal(false);
    expect(lines.filter((l) => l.code === 'UPSTREAMS_FILE_INVALID')).to.have.length(1);
  });

  it('lets a request in flight finish on the old instance while new requests go to the new one', async () => {
    const blue = await instance('blue', 400);
    const green = await instance('green');
    servers.push(blue.server, green.server);
    gateway.reload({ product: [blue.url], order: [blue.url] });

    const inFlight = fetch(`${frontUrl}/api/v1/products/x`).then(async (r) => [r.status, await r.text()]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const dropped = gateway.upstreams.product.instances[0]!;
    gateway.reload({ product: [green.url], order: [green.url] });
    expect(dropped.retired).to.equal(true);

    const next = await fetch(`${frontUrl}/api/v1/products/y`);
    expect([next.status, await next.text()]).to.deep.equal([200, 'green']);
    expect(await inFlight, 'the request sent before the switch').to.deep.equal([200, 'blue']);
  });

  it('is a setting whose file is checked when the configuration is loaded', () => {
    write({ product: ['http://127.0.0.1:9001'], order: ['http://127.0.0.1:9002'] });
    expect(loadConfig({ env: {}, flags: { upstreamsFile: file() } }).upstreamsFile).to.equal(file());
    write({ product: ['http://127.0.0.1:9001'] });
    try {
      loadConfig({ env: {}, flags: { upstreamsFile: file() } });
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).to.match(/--upstreams-file.*order/);
    }
  });
});
