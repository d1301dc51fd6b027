/**
 * A product service for tests of the order side's HTTP adapters: the real product use cases on an in-memory
 * product_db, behind the internal reservation API with the app-level middleware it relies on (request id,
 * JSON body, authentication, problem+json), on a random port.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { Container } from 'inversify';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { authenticate, type JwtSettings, type Principal, signToken } from '../../src/adapters/http/auth.ts';
import { jsonBody } from '../../src/adapters/http/json-body.ts';
import { errorHandler, sendProblem } from '../../src/adapters/http/problem.ts';
import { requestContext } from '../../src/adapters/http/request-context.ts';
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

/** The product module's dependencies on a fresh in-memory product_db. */
export function productDependencies(): ProductPorts {
  return { persistence: new InMemoryProductPersistence(), clock: systemClock, cache: new MemoryCache() };
}

/** The product module wired by its own ContainerModule on these ports, as a role wires it. */
export function productModuleOn(ports: ProductPorts): Container {
  const container = new Container();
  container.bind(ProductTokens.Persistence).toConstantValue(ports.persistence);
  container.bind(Tokens.Clock).toConstantValue(ports.clock);
  container.bind(Tokens.Cache).toConstantValue(ports.cache);
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
  const app = express();
  app.use(requestContext, ...jsonBody(1024 * 1024), authenticate(jwt));
  app.use('/internal/v1/reservations', productModuleOn(deps).get<Router>(ProductTokens.ReservationRouter));
  app.use((req, res) => sendProblem(res, 404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
  app.use(errorHandler(silentLogger));
  const server = await listen(app);
  return { ...server, deps, jwt, token: (principal, ttl = 600) => signToken(jwt, principal, ttl) };
}

/** A port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const { url, close } = await listen(express());
  await close();
  return Number(new URL(url).port);
}
