import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { InProcessEventBus } from '../../../src/adapters/messaging/in-process/in-process-event-bus.ts';
import { KafkaHealth } from '../../../src/adapters/messaging/kafka/kafka-health.ts';
import { OutboxRelay, type OutboxStore } from '../../../src/adapters/messaging/outbox-relay.ts';
import {
  HttpProductCatalog,
  ProductServiceErrors,
} from '../../../src/adapters/product-catalog/http-product-catalog.ts';
import { newId } from '../../../src/shared/id.ts';
import { envelope } from '../../contract/event-bus.contract.ts';
import { capturingLogger } from '../../support/log-capture.ts';
import { closedPort, testJwt } from '../../support/product-service.ts';

/** Issue 11: every warning and error carries a stable code, and one failure is logged once. */
describe('log codes', () => {
  const problems = (lines: Record<string, unknown>[]) => lines.filter((l) => l.level === 'warn' || l.level === 'error');

  it('cannot write a warning or an error without a code (a compile-time rule)', () => {
    const { logger, lines } = capturingLogger();
    const compileOnly = () => {
      // @ts-expect-error an error line needs a meta object with a code
      logger.error('no meta at all');
      // @ts-expect-error a warning's meta needs a code
      logger.warn('meta without a code', { orderId: '1' });
    };
    expect(compileOnly).to.be.a('function');
    logger.info('info lines need no code');
    logger.error('coded', { code: 'SOME_FAILURE', detail: 1 });
    expect(lines.map((l) => [l.level, l.code])).to.deep.equal([
      ['info', undefined],
      ['error', 'SOME_FAILURE'],
    ]);
  });

  it('the outbox relay warns once per failed attempt, with its attempt number, and never at error level', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new InProcessEventBus(logger);
    await bus.stop(); // a real bus that refuses every publish
    const record = { seq: 1, topic: 'order-events', event: envelope(newId()) };
    const store: OutboxStore = {
      withClaim: (_limit, publish) => publish([record]).then(() => 1),
      release: async () => {},
    };
    const relay = new OutboxRelay(store, bus, logger, {
      batchSize: 10,
      pollIntervalMs: 5,
      errorBackoffMs: 5,
      lingerMs: 0,
    });
    relay.start();
    while (problems(lines).length < 3) await new Promise((r) => setTimeout(r, 5));
    await relay.stop();
    const logged = problems(lines);
    expect(logged.every((l) => l.level === 'warn' && l.code === 'RELAY_PUBLISH_FAILED')).to.equal(true);
    expect(logged.slice(0, 3).map((l) => l.attempt)).to.deep.equal([1, 2, 3]);
  });

  it('Kafka health logs a broken component once per outage, and a failure its caller logs not at all', () => {
    const { logger, lines } = capturingLogger();
    const health = new KafkaHealth(logger);
    health.report('kafka consumer x', 'kafka consumer x crashed', { code: 'KAFKA_CONSUMER_CRASHED' });
    health.report('kafka consumer x', 'kafka consumer x crashed again', { code: 'KAFKA_CONSUMER_CRASHED' });
    health.failing('kafka producer', 'kafka producer failed to send to t: broker down');
    expect(health.problem()).to.include('crashed again').and.include('failed to send');
    expect(problems(lines).map((l) => [l.level, l.code])).to.deep.equal([['error', 'KAFKA_CONSUMER_CRASHED']]);
    health.recovered('kafka consumer x');
    health.report('kafka consumer x', 'kafka consumer x disconnected', { code: 'KAFKA_CONSUMER_DISCONNECTED' });
    expect(problems(lines).map((l) => l.code)).to.deep.equal(['KAFKA_CONSUMER_CRASHED', 'KAFKA_CONSUMER_DISCONNECTED']);
  });

  describe('HttpProductCatalog leaves the final failure to the use case that catches it', function () {
    this.timeout(10_000);
    const items = [{ productId: newId(), quantity: 1 }];

    it('logs each attempt on an unreachable service as a coded warning with its attempt number', async () => {
      const { logger, lines } = capturingLogger();
      const catalog = new HttpProductCatalog({
        baseUrl: `http://127.0.0.1:${await closedPort()}`,
        jwt: testJwt(),
        logger,
      });
      try {
        const error = await catalog.reserve(newId(), items, 'corr-down').then(
          () => expect.fail('reserved'),
          (e: unknown) => e as { code: string },
        );
        expect(error.code).to.equal(ProductServiceErrors.unavailable);
        expect(problems(lines).map((l) => [l.level, l.code, l.attempt])).to.deep.equal([
          ['warn', ProductServiceErrors.unavailable, 1],
          ['warn', ProductServiceErrors.unavailable, 2],
        ]);
      } finally {
        await catalog.close();
      }
    });

    it('writes no line of its own at the deadline: the thrown error says it', async () => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on('data', () => {});
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      const { logger, lines } = capturingLogger();
      const catalog = new HttpProductCatalog({
        baseUrl: `http://127.0.0.1:${port}`,
        jwt: testJwt(),
        logger,
        timeoutMs: 300,
      });
      try {
        const error = await catalog.reserve(newId(), items, 'corr-hung').then(
          () => expect.fail('reserved'),
          (e: unknown) => e as { code: string; message: string },
        );
        expect(error.code).to.equal(ProductServiceErrors.unavailable);
        expect(error.message).to.include('300 ms');
        expect(problems(lines)).to.deep.equal([]);
      } finally {
        for (const socket of sockets) socket.destroy();
        silent.close();
        await catalog.close();
      }
    });
  });
});
