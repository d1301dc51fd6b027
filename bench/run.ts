/**
 * Throughput and latency of the platform, measured from a separate load-generator process (autocannon)
 * against real roles started as child processes. Not a test: figures go to docs/performance.md.
 *
 *   npm run bench                          # the monolith (SQLite, in-process bus), sync and async orders
 *   npm run bench -- --target split        # gateway + product + order on MySQL, Kafka, Redis
 *   npm run bench -- --target gateway      # GET a product: direct vs through the gateway vs through nginx
 *   npm run bench -- --duration 20 --connections 32
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchGateway } from './gateway.ts';
import { type Platform, startMonolithProcess, startSplitProcesses } from './platform.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'monolith' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);

interface Figure {
  scenario: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(
  platform: Platform,
  scenario: string,
  request: autocannon.Request & { path: string },
): Promise<Figure> {
  const result = await autocannon({
    url: platform.url,
    connections,
    duration,
    requests: [request],
  });
  return {
    scenario,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main() {
  const platform = values.target === 'split' ? await startSplitProcesses() : await startMonolithProcess();
  try {
    const admin = platform.token('root', 'admin');
    const customer = platform.token('bench', 'customer');
    const product = await platform.createProduct(admin, 1_000_000_000);
    const figures: Figure[] = [];
    const json = { 'content-type': 'application/json' };
    figures.push(
      await load(platform, 'GET /api/v1/products/{id}', { method: 'GET', path: `/api/v1/products/${product}` }),
    );
    for (const mode of ['sync', 'async'] as const) {
      figures.push(
        await load(platform, `POST /api/v1/orders (${mode})`, {
          method: 'POST',
          path: `/api/v1/orders?mode=${mode}`,
          headers: { ...json, authorization: `Bearer ${customer}` },
          body: JSON.stringify({ items: [{ productId: product, quantity: 1 }] }),
        }),
      );
    }
    const settle = await platform.timeToSettle(customer);
    console.log(
      `\n${values.target}: ${connections} connections, ${duration}s per scenario, ${new Date().toISOString()}`,
    );
    console.table(figures.map((f) => ({ ...f, p50: `${f.p50} ms`, p99: `${f.p99} ms` })));
    console.log(`async orders pending after the run settled in ${settle} ms`);
  } finally {
    await platform.stop();
  }
}

if (values.target === 'gateway')
  await benchGateway({ duration, connections, rounds: Number(values.rounds), cpuProfDir: values['cpu-prof'] });
else await main();
