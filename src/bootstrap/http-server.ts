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
  /** Stops accepting, lets in-flight requests finish, drops idle keep-alive connections. */
  close(): Promise<void>;
}

type AnyServer = Server | HttpsServer;
type ListenSettings = Pick<Config, 'host' | 'port' | 'tlsCertFile' | 'tlsKeyFile' | 'httpRedirectPort'>;

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
  const server: AnyServer = tls
    ? createHttpsServer({ ...messages, ...tls, minVersion: 'TLSv1.2' }, app)
    : createHttpServer(messages, app);
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
      await Promise.all(servers.map(closeServer));
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

/** Stops accepting connections, lets in-flight requests finish, then drops idle keep-alive sockets. */
function closeServer(server: AnyServer): Promise<void> {
  return new Promise((resolve) => {
    // A keep-alive connection busy now turns idle once its response is out; close it then, not after the grace.
    const sweep = setInterval(() => server.closeIdleConnections(), 20);
    const grace = setTimeout(() => server.closeAllConnections(), 10_000);
    grace.unref();
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(grace);
      resolve();
    });
    server.closeIdleConnections();
  });
}
