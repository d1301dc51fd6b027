/**
 * The floor for a reverse proxy on Node: node:http in front, an undici keep-alive pool behind, headers
 * copied without the hop-by-hop ones, nothing else (no authentication, limits, metrics, breakers or retries).
 * bench/gateway.ts runs it beside our gateway and nginx, so the figures show what the runtime itself costs
 * and what the gateway's own work adds on top.
 *
 *   node bench/floor-proxy.ts <port> <upstream url>
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { type Dispatcher, Pool } from 'undici';

const [port, upstream] = [Number(process.argv[2]), process.argv[3]!];
const pool = new Pool(upstream, { connections: 32 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer']);

function copy(from: IncomingHttpHeaders): Record<string, string | string[]> {
  const to: Record<string, string | string[]> = {};
  for (const name in from) if (!HOP_BY_HOP.has(name) && from[name] !== undefined) to[name] = from[name];
  return to;
}

const respond = ({ statusCode, headers, opaque }: Dispatcher.StreamFactoryData<ServerResponse>) => {
  opaque.statusCode = statusCode;
  for (const name in headers) if (!HOP_BY_HOP.has(name)) opaque.setHeader(name, headers[name]!);
  return opaque;
};

const server = createServer((req, res) => {
  const headers = copy(req.headers);
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool
    .stream(
      { method: req.method as Dispatcher.HttpMethod, path: req.url!, headers, body: hasBody ? req : null, opaque: res },
      respond,
    )
    .catch(() => res.destroy());
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
