import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { logLevel } from 'kafkajs';
import { kafkaLogCreator } from '../../../src/adapters/messaging/kafka/kafka-client.ts';
import { KafkaHealth, watchConsumer } from '../../../src/adapters/messaging/kafka/kafka-health.ts';
import {
  HEADERS,
  headerText,
  parseEnvelope,
  PoisonMessageError,
  toDeadLetterMessage,
  toKafkaMessage,
  traceparentFor,
} from '../../../src/adapters/messaging/kafka/kafka-messages.ts';
import { silentLogger, type Logger } from '../../../src/shared/logger.port.ts';
import { envelope } from '../../contract/event-bus.contract.ts';

describe('Kafka messages', () => {
  it('keys by aggregate id and repeats id and type in headers, with a W3C traceparent', () => {
    const event = envelope('aggregate-1', 'Tested', { a: 1 });
    const message = toKafkaMessage(event);
    expect(message.key).to.equal('aggregate-1');
    expect(JSON.parse(String(message.value))).to.deep.equal(event);
    expect(message.headers).to.include({ id: event.id, type: 'Tested' });
    expect(message.headers!.traceparent).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('takes the trace id from a UUID correlation id, and makes one up otherwise', () => {
    const uuid = '0190F3A2-7B1C-7D4E-8F00-123456789ABC';
    expect(traceparentFor(uuid).split('-')[1]).to.equal('0190f3a27b1c7d4e8f00123456789abc');
    const [, traceId, spanId] = traceparentFor('not-a-uuid').split('-');
    expect(traceId).to.match(/^[0-9a-f]{32}$/);
    expect(spanId).to.match(/^[0-9a-f]{16}$/);
    expect(traceparentFor(uuid)).to.not.equal(traceparentFor(uuid), 'a new span per message');
  });

  it('reads back exactly the envelope it wrote', () => {
    const event = envelope('aggregate-1', 'Tested', { nested: [1, { b: null }] });
    expect(parseEnvelope(Buffer.from(JSON.stringify(event)))).to.deep.equal(event);
  });

  it('calls a message poison when it is not an envelope', () => {
    const { payload: _payload, ...noPayload } = envelope('a');
    for (const value of [null, 'not json', '[]', '42', JSON.stringify({ ...envelope('a'), id: 7 }), noPayload]) {
      const bytes = value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
      expect(() => parseEnvelope(bytes), String(value)).to.throw(PoisonMessageError, /invalid envelope/);
    }
  });

  it('parks the original key, value and headers with the group, error, attempts and origin', () => {
    const original: KafkaMessage = {
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      headers: { id: Buffer.from('e1') },
      offset: '41',
      timestamp: '0',
      attributes: 0,
    };
    const parked = toDeadLetterMessage({
      topic: 'order-events',
      partition: 3,
      message: original,
      group: 'product-service',
      error: new Error('x'.repeat(5_000)),
      attempts: 5,
    });
    expect(parked.key).to.equal(original.key);
    expect(parked.value).to.equal(original.value);
    expect(headerText(parked.headers, 'id')).to.equal('e1');
    expect(headerText(parked.headers, HEADERS.deadLetterGroup)).to.equal('product-service');
    expect(headerText(parked.headers, HEADERS.deadLetterAttempts)).to.equal('5');
    expect(headerText(parked.headers, HEADERS.deadLetterError)).to.have.length(1_000);
    expect(headerText(parked.headers, HEADERS.originalTopic)).to.equal('order-events');
    expect(headerText(parked.headers, HEADERS.originalPartition)).to.equal('3');
    expect(headerText(parked.headers, HEADERS.originalOffset)).to.equal('41');
  });
});

describe('Kafka health', () => {
  const fakeConsumer = () => {
    const emitter = new EventEmitter();
    const events = { CRASH: 'crash', DISCONNECT: 'disconnect', GROUP_JOIN: 'join', FETCH_START: 'fetch' };
    const consumer = { events, on: (name: string, listener: (e: unknown) => void) => emitter.on(name, listener) };
    return {
      consumer: consumer as unknown as Consumer,
      emit: (name: string, payload = {}) => emitter.emit(name, { payload }),
    };
  };

  it('names a crashed consumer until it has joined its group again', () => {
    const health = new KafkaHealth(silentLogger);
    const { consumer, emit } = fakeConsumer();
    watchConsumer(consumer, 'kafka consumer order-service', health, () => false);
    expect(health.problem()).to.equal(null);
    emit('disconnect');
    emit('crash', { error: new Error('Connection error: ECONNREFUSED'), restart: true });
    expect(health.problem()).to.equal(
      'kafka consumer order-service crashed (restarting): Connection error: ECONNREFUSED',
    );
    emit('join');
    expect(health.problem()).to.equal(null);
  });

  it('keeps a crash without restart, and ignores disconnects while stopping', () => {
    const health = new KafkaHealth(silentLogger);
    let stopping = false;
    const { consumer, emit } = fakeConsumer();
    watchConsumer(consumer, 'kafka consumer c', health, () => stopping);
    emit('crash', { error: new Error('boom'), restart: false });
    expect(health.problem()).to.match(/kafka consumer c crashed \(not restarting\): boom/);
    const other = fakeConsumer();
    const quiet = new KafkaHealth(silentLogger);
    watchConsumer(other.consumer, 'kafka consumer d', quiet, () => stopping);
    stopping = true;
    other.emit('disconnect');
    expect(quiet.problem()).to.equal(null);
  });

  it('passes kafkajs warnings and errors to our logger, and nothing below', () => {
    const lines: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (m) => void lines.push(`warn ${m}`),
      error: (m, meta) => void lines.push(`error ${m} ${String(meta?.error)}`),
      debug: (m) => void lines.push(`debug ${m}`),
    };
    const log = kafkaLogCreator(logger)(logLevel.WARN);
    const entry = (level: logLevel, message: string, extra = {}) =>
      log({ namespace: 'Consumer', level, label: '', log: { timestamp: '', message, ...extra } });
    entry(logLevel.INFO, 'Starting');
    entry(logLevel.WARN, 'slow');
    entry(logLevel.ERROR, 'Crash', { error: new Error('boom') });
    entry(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees');
    expect(lines).to.deep.equal([
      'warn kafka: slow',
      'error kafka: Crash Error: boom',
      'debug kafka: Limiting retries for the idempotent producer may invalidate EoS guarantees',
    ]);
  });
});
