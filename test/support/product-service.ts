/**
 * A product service for tests of the order side's HTTP adapters: the real product use cases on an in-memory
 * product_db, behind the internal reservation API and the real edge in front of it (request id, credentials,
 * JSON body, problem+json), on a random port.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { Container } from 'inversify';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { CachedProductPersistence } from '../../src/adapters/cache/product/cached-product-persistence.ts';
import { type JwtSettings, type Principal, signToken } from '../../src/edge/http/auth.ts';
import { HttpMetrics } from '../../src/edge/http/metrics.ts';
import { createHttpApp } from '../../src/edge/http-app.ts';
import { InMemoryProductPersistence } from '../../src/adapters/persistence/in-memory/in-memory-product-persistence.ts';
import type { ProductPorts } from '../../src/modules/product/application/ports/product-ports.ts';
import type { ProductFacade } from '../../src/modules/product/contract.ts';
import { ProductTokens, productModule } from '../../src/modules/product/product.module.ts';
import { Tokens } from '../../src/shared/tokens.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';

export const testJwt = (): JwtSettings => ({
  secret: randomBytes(32).toString('base64url'),
  issuer: 'hexashop-test',
  audience: 'hexashop-test-api',
});

/** The product module's dependencies on a fresh in-memory product_db, with the product cache in front. */
export function productDependencies(): ProductPorts {
  return {
    persistence: new CachedProductPersistence(new InMemoryProductPersistence(), new MemoryCache()),
    clock: systemClock,
  };
}

/** The product module wired by its own ContainerModule on these ports, as a role wires it. */
export function productModuleOn(ports: ProductPorts): Container {
  const container = new Container();
  container.bind(ProductTokens.Persistence).toConstantValue(ports.persistence);
  container.bind(Tokens.Clock).toConstantValue(ports.clock);
  if (ports.persistence instanceof CachedProductPersistence) {
    container.bind(ProductTokens.CacheInvalidation).toConstantValue(ports.persistence);
  }
  container.bind(Tokens.InstanceId).toConstantValue('test');
  container.load(productModule);
  return container;
}

export const productFacade = (ports: ProductPorts) => productModuleOn(ports).get<ProductFacade>(ProductTokens.Facade);

export interface TestServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on a random loopback port; close() also drops keep-alive connections. */
export function listen(app: RequestListener): Promise<TestServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export interface TestProductService extends TestServer {
  deps: ProductPorts;
  jwt: JwtSettings;
  token(principal: Principal, ttlSeconds?: number): string;
}

export async function startProductService(
  jwt: JwtSettings = testJwt(),
  deps: ProductPorts = productDependencies(),
): Promise<TestProductService> {
  // The real edge in front of the product module's internal API, as the product role serves it.
  const app = createHttpApp({
    logger: silentLogger,
    metrics: new HttpMetrics('product'),
    jwt,
    bodyLimit: 1024 * 1024,
    readiness: [],
    api: {},
    internal: { '/reservations': productModuleOn(deps).get<Router>(ProductTokens.ReservationRouter) },
  });
  const server = await listen(app);
  return { ...server, deps, jwt, token: (principal, ttl = 600) => signToken(jwt, principal, ttl) };
}

/** A port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const { url, close } = await listen(express());
  await close();
  return Number(new URL(url).port);
}
