/**
 * The floor for reading a product: node:http and the raw driver (raw-db.ts), one SELECT by primary key per
 * request and the row as the API's Product JSON; no cache, routing table, authentication, rate limits,
 * metrics, validation or problem documents. floors.ts runs it beside our GET /api/v1/products/{id}.
 *
 *   node bench/floors/read-floor.ts <port> <sqlite|mysql> <SQLite file | mysql:// URL>
 *
 * Serves GET /products/{id} (200, or 404 when there is no such row) and GET /health/live.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Storage } from '../../src/adapters/persistence/mikro-orm/orm.ts';
import { openRawDatabase, type Row } from './raw-db.ts';

const [port, storage, location] = [Number(process.argv[2]), process.argv[3] as Storage, process.argv[4]!];
const db = openRawDatabase(storage, location);
const SELECT =
  'select id, sku, name, description, price_cents, currency, stock, version, created_at, updated_at from products where id = ?';

const iso = (value: unknown) => new Date(value instanceof Date ? value : Number(value)).toISOString();

const product = (row: Row) => ({
  id: row.id,
  sku: row.sku,
  name: row.name,
  description: row.description,
  priceCents: Number(row.price_cents),
  currency: row.currency,
  stock: row.stock,
  version: row.version,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (url === '/health/live') return send(res, 200, { status: 'ok' });
  const id = url.startsWith('/products/') ? url.slice('/products/'.length) : undefined;
  if (req.method !== 'GET' || !id) return send(res, 404, { status: 404 });
  db.get(SELECT, [id]).then(
    (row) => (row ? send(res, 200, product(row)) : send(res, 404, { status: 404 })),
    () => send(res, 503, { status: 503 }),
  );
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => void db.close().finally(() => process.exit(0)));
  server.closeAllConnections();
});
