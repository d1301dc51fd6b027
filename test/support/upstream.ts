/**
 * A product-like service instance for the gateway's resilience tests: /health/ready, GET
 * /api/v1/products/:id, POST /api/v1/products and /api/v1/orders, each answer naming the instance. Its mode
 * makes it misbehave on purpose: `fail` answers every API request with a 500, `crash` drops the connection
 * of every API request once it has read it (as a process that dies mid-request), `unready` fails its
 * readiness check. It runs in the test's process (startUpstream) or as a process of its own that a test can
 * SIGKILL (spawnUpstream: this file is its entry point).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { sendProblem } from '../../src/edge/http/problem.ts';

export type UpstreamMode = 'ok' | 'fail' | 'crash' | 'unready';

export interface UpstreamCounts {
  /** API requests received, by `METHOD /path-template`. */
  hits: Record<string, number>;
  /** Idempotency-Key values of the POSTs received, in order. */
  keys: string[];
}

export interface Upstream {
  name: string;
  url: string;
  port: number;
  counts(): Promise<UpstreamCounts>;
  setMode(mode: UpstreamMode): Promise<void>;
  /** Stops it (in-process: closes the server and every connection; spawned: SIGKILL). */
  kill(): Promise<void>;
}

function upstreamApp(name: string) {
  let mode: UpstreamMode = 'ok';
  const counts: UpstreamCounts = { hits: {}, keys: [] };
  const app = express();
  app.get('/health/ready', (_req, res) => {
    if (mode === 'unready') return sendProblem(res, 503, 'NOT_READY', 'unavailable: product-db');
    res.json({ status: 'ready' });
  });
  app.get('/test/counts', (_req, res) => void res.json(counts));
  app.post('/test/mode/:mode', (req, res) => {
    mode = req.params.mode as UpstreamMode;
    res.status(204).end();
  });
  app.use('/api', async (req, res, next) => {
    const template = req.method === 'GET' ? 'GET /api/v1/products/:id' : `${req.method} ${req.originalUrl}`;
    counts.hits[template] = (counts.hits[template] ?? 0) + 1;
    const key = req.get('idempotency-key');
    if (key) counts.keys.push(key);
    if (mode === 'fail') return sendProblem(res, 500, 'INTERNAL', `instance ${name} is broken`);
    if (mode === 'crash') {
      for await (const _chunk of req);
      return void req.socket.destroy();
    }
    next();
  });
  app.get('/api/v1/products/:id', async (req, res) => {
    const delay = Number(req.query.delayMs ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    res.json({ id: req.params.id, instance: name });
  });
  app.post(['/api/v1/products', '/api/v1/orders'], async (req, res) => {
    let length = 0;
    for await (const chunk of req) length += (chunk as Buffer).length;
    res.status(201).json({ instance: name, bodyLength: length, idempotencyKey: req.get('idempotency-key') ?? null });
  });
  return { app, counts, setMode: (m: UpstreamMode) => (mode = m) };
}

/** An instance in this process, on `port` (0: a random one). */
export async function startUpstream(name: string, port = 0): Promise<Upstream> {
  const { app, counts, setMode } = upstreamApp(name);
  const server: Server = app.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  return {
    name,
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    counts: async () => structuredClone(counts),
    setMode: async (mode) => void setMode(mode),
    kill: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ENTRY = fileURLToPath(import.meta.url);

/** An instance as a process of its own, on `port` (0: a random one). */
export async function spawnUpstream(name: string, port = 0): Promise<Upstream> {
  const child: ChildProcess = spawn(process.execPath, [ENTRY, name, String(port)], {
    // Its stdin is how it knows the test process is gone (then it exits too).
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(() => {
      throw new Error(`upstream ${name} exited before listening`);
    }),
  ])) as [Buffer];
  const actual = Number(/listening (\d+)/.exec(line.toString())?.[1]);
  const url = `http://127.0.0.1:${actual}`;
  return {
    name,
    url,
    port: actual,
    counts: async () => (await (await fetch(`${url}/test/counts`)).json()) as UpstreamCounts,
    setMode: async (mode) => void (await fetch(`${url}/test/mode/${mode}`, { method: 'POST' })),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

if (import.meta.main) {
  const [name = 'upstream', port = '0'] = process.argv.slice(2);
  process.stdin.on('end', () => process.exit(0)).resume();
  const server = upstreamApp(name).app.listen(Number(port), '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
}
