import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { HttpApp } from '../edge/http-app.ts';
import { sendProblem } from '../edge/http/problem.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { Config } from './config.schema.ts';

export interface HttpListener {
  /** Where the role answers, `https://…` when TLS is configured. */
  url: string;
  /**
   * Stops accepting, waits for every request handler in flight to finish (not only for connections: a
   * handler whose client has gone still works on) for up to `shutdownTimeoutMs`, drops idle keep-alive
   * connections as they turn idle, then cuts what is left.
   */
  close(): Promise<void>;
}

type AnyServer = Server | HttpsServer;
type ListenSettings = Pick<Config, 'host' | 'port' | 'tlsCertFile' | 'tlsKeyFile' | 'httpRedirectPort'> & {
  /** How long close() waits for handlers in flight (default 10 s). */
  shutdownTimeoutMs?: number;
};

/**
 * Serves the app over HTTP, or over HTTPS only when a certificate and key are configured. With TLS, plain
 * HTTP on the TLS port is refused at the handshake (the connection is closed without an answer); the
 * optional `httpRedirectPort` listener answers plain HTTP: a GET or HEAD without credentials is redirected to
 * HTTPS with 308, and anything else (a write, or any request carrying Authorization or X-API-Key) gets
 * 403 HTTPS_REQUIRED — an API client configured with http:// fails loudly instead of quietly sending its
 * credentials in the clear on every call.
 */
export async function serveHttp(app: RequestListener, settings: ListenSettings, logger: Logger): Promise<HttpListener> {
  const tls =
    settings.tlsCertFile && settings.tlsKeyFile
      ? { cert: readFileSync(settings.tlsCertFile), key: readFileSync(settings.tlsKeyFile) }
      : null;
  // How the edge wants its requests and responses made (with Express's prototypes: see createHttpApp).
  const messages = 'serverOptions' in app ? (app as HttpApp).serverOptions : {};
  const inFlight = new InFlight();
  const tracked = inFlight.track(app);
  const server: AnyServer = tls
    ? createHttpsServer({ ...messages, ...tls, minVersion: 'TLSv1.2' }, tracked)
    : createHttpServer(messages, tracked);
  if (tls) {
    server.on('tlsClientError', (error: Error & { code?: string }) =>
      logger.debug('TLS handshake failed', { code: error.code, error: error.message }),
    );
  }
  const port = await listen(server, settings.host, settings.port);
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const servers: AnyServer[] = [server];
  if (tls && settings.httpRedirectPort !== undefined) {
    const redirect = createHttpServer(redirectToHttps(port, host));
    const plainPort = await listen(redirect, settings.host, settings.httpRedirectPort);
    logger.info('plain HTTP redirects to HTTPS', { url: `http://${host}:${plainPort}` });
    servers.push(redirect);
  }
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: async () => {
      const timeoutMs = settings.shutdownTimeoutMs ?? DEFAULT_DRAIN_MS;
      await Promise.all(servers.map((each) => closeServer(each, each === server ? inFlight : null, timeoutMs)));
      if (inFlight.count > 0) {
        logger.warn('requests still in flight when the drain timed out', {
          code: 'SHUTDOWN_DRAIN_TIMEOUT',
          requests: inFlight.count,
          timeoutMs,
        });
      }
    },
  };
}

function listen(server: AnyServer, host: string, port: number): Promise<number> {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const HOSTNAME = /^(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])$/i;

function redirectToHttps(tlsPort: number, fallbackHost: string): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res) => {
    const hasCredentials = req.get('authorization') !== undefined || req.get('x-api-key') !== undefined;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || hasCredentials) {
      return sendProblem(res, 403, 'HTTPS_REQUIRED', 'this API is served over HTTPS only');
    }
    // The host the client asked for (our own name, or the configured one), at the TLS port.
    const asked = (req.get('host') ?? '').replace(/:\d+$/, '');
    const host = HOSTNAME.test(asked) ? asked : fallbackHost;
    const path = req.originalUrl.startsWith('/') ? req.originalUrl : '/';
    res.redirect(308, `https://${host}:${tlsPort}${path}`);
  });
  return app;
}

const DEFAULT_DRAIN_MS = 10_000;

/**
 * The requests whose handler has not finished: one counts from the moment the server hands it to the app
 * until the response is ended (`end()` called, whether or not the client is still there to read it). A
 * response closed before it was ended (the client went away) still counts: its handler may be mid-way
 * through a use case (a sync order settling), and the databases must not close under it.
 */
class InFlight {
  count = 0;
  readonly #idle = new Set<() => void>();

  track(app: RequestListener): RequestListener {
    return (req, res) => {
      this.count++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.count--;
        if (this.count === 0) for (const wake of this.#idle) wake();
      };
      const end = res.end;
      res.end = function (this: typeof res, ...args: Parameters<typeof res.end>) {
        finish();
        return end.apply(this, args);
      } as typeof res.end;
      app(req, res);
    };
  }

  /** Resolves once no handler is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#idle.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#idle.add(wake);
    });
  }
}

/**
 * Stops accepting connections, waits for the handlers in flight (bounded), dropping keep-alive sockets as
 * they turn idle, then cuts whatever connection is left.
 */
async function closeServer(server: AnyServer, inFlight: InFlight | null, timeoutMs: number): Promise<void> {
  const started = Date.now();
  // A keep-alive connection busy now turns idle once its response is out; close it then, not after the grace.
  const sweep = setInterval(() => server.closeIdleConnections(), 20);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  try {
    await inFlight?.idle(timeoutMs);
    const left = Math.max(0, timeoutMs - (Date.now() - started));
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (grace = setTimeout(resolve, left)))]);
    clearTimeout(grace);
  } finally {
    clearInterval(sweep);
  }
  server.closeAllConnections();
  await closed;
}
