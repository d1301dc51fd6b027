/**
 * The Kafka clients' own view (kafkajs instrumentation events): broker requests, their latency and
 * timeouts, group joins, rebalances and crashes, and what each consumer group consumed. Labels are closed
 * sets: the kind of client, the Kafka API, the contract's topic and group names (namespace and instance
 * suffix stripped, as `consumer_lag_messages` names them). Listeners only count: a request is one map
 * look-up and two pre-bound children.
 */
import type {
  Admin,
  Consumer,
  ConsumerCrashEvent,
  ConsumerEndBatchProcessEvent,
  ConsumerGroupJoinEvent,
  Producer,
  RequestEvent,
  RequestTimeoutEvent,
} from 'kafkajs';
import client from 'prom-client';
import type { KafkaInstrumentation } from '../messaging/kafka/kafka-client.ts';
import { counterIn, histogramIn } from './metric-registry.ts';
import { groupName } from './prometheus-reliability-metrics.ts';

type ClientKind = 'producer' | 'consumer' | 'admin';

/** kafkajs names its protocol's APIs (Produce, Fetch, Heartbeat, …): a fixed set, but never trust a label blindly. */
const apiLabel = (name: string) => (/^[A-Za-z]{1,40}$/.test(name) ? name : 'OTHER');

/**
 * Instrumentation for a role's Kafka connection, its series in `registry`. `namespace` is the prefix the bus
 * puts on topics and groups (none by default), left out of the labels.
 */
export function kafkaClientMetrics(registry: client.Registry, namespace = ''): KafkaInstrumentation {
  const strip = (name: string) => (namespace && name.startsWith(namespace) ? name.slice(namespace.length) : name);
  const network = networkMetrics(registry);
  const connections = connectionMetrics(registry);
  const consumers = consumerMetrics(registry);
  return {
    producer: (producer: Producer) => {
      const { CONNECT, DISCONNECT, REQUEST, REQUEST_TIMEOUT } = producer.events;
      const watch = { ...network('producer'), ...connections('producer') };
      producer.on(REQUEST, watch.request);
      producer.on(REQUEST_TIMEOUT, watch.timeout);
      producer.on(CONNECT, watch.connected);
      producer.on(DISCONNECT, watch.disconnected);
    },
    admin: (admin: Admin) => {
      const { CONNECT, DISCONNECT, REQUEST, REQUEST_TIMEOUT } = admin.events;
      const watch = { ...network('admin'), ...connections('admin') };
      admin.on(REQUEST, watch.request);
      admin.on(REQUEST_TIMEOUT, watch.timeout);
      admin.on(CONNECT, watch.connected);
      admin.on(DISCONNECT, watch.disconnected);
    },
    consumer: (consumer: Consumer, groupId: string) => {
      const { CONNECT, DISCONNECT, REQUEST, REQUEST_TIMEOUT } = consumer.events;
      const watch = { ...network('consumer'), ...connections('consumer') };
      consumer.on(REQUEST, watch.request);
      consumer.on(REQUEST_TIMEOUT, watch.timeout);
      consumer.on(CONNECT, watch.connected);
      consumer.on(DISCONNECT, watch.disconnected);
      consumers(consumer, groupName(strip(groupId)), strip);
    },
  };
}

/** `kafka_client_requests_total`, `kafka_client_request_duration_seconds`, `kafka_client_request_timeouts_total`. */
function networkMetrics(registry: client.Registry) {
  const requests = counterIn(registry, {
    name: 'kafka_client_requests_total',
    help: 'Requests the Kafka clients sent to a broker, by kind of client and Kafka API',
    labelNames: ['client', 'api'],
  });
  const duration = histogramIn(registry, {
    name: 'kafka_client_request_duration_seconds',
    help: 'Broker request latency as the Kafka client saw it (a Fetch includes its long-poll wait)',
    labelNames: ['client', 'api'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const timeouts = counterIn(registry, {
    name: 'kafka_client_request_timeouts_total',
    help: 'Broker requests that timed out, by kind of client and Kafka API',
    labelNames: ['client', 'api'],
  });
  const bound = new Map<string, { count: client.Counter.Internal; seconds: client.Histogram.Internal<string> }>();
  return (kind: ClientKind) => ({
    request: ({ payload }: RequestEvent) => {
      const key = `${kind}/${payload.apiName}`;
      let children = bound.get(key);
      if (!children) {
        const labels = { client: kind, api: apiLabel(payload.apiName) };
        children = { count: requests.labels(labels), seconds: duration.labels(labels) };
        bound.set(key, children);
        timeouts.inc(labels, 0); // an API in use reads 0 timeouts, not nothing
      }
      children.count.inc();
      children.seconds.observe(payload.duration / 1000);
    },
    timeout: ({ payload }: RequestTimeoutEvent) => timeouts.inc({ client: kind, api: apiLabel(payload.apiName) }),
  });
}

/** `kafka_client_connects_total` and `kafka_client_disconnects_total`: a replaced producer shows here. */
function connectionMetrics(registry: client.Registry) {
  const connects = counterIn(registry, {
    name: 'kafka_client_connects_total',
    help: 'Kafka clients connected, by kind (the producer is replaced after a failed send; admin: per lag read)',
    labelNames: ['client'],
  });
  const disconnects = counterIn(registry, {
    name: 'kafka_client_disconnects_total',
    help: 'Kafka clients disconnected, asked to or not, by kind',
    labelNames: ['client'],
  });
  return (kind: ClientKind) => {
    connects.inc({ client: kind }, 0);
    disconnects.inc({ client: kind }, 0);
    return {
      connected: () => connects.inc({ client: kind }),
      disconnected: () => disconnects.inc({ client: kind }),
    };
  };
}

/** A consumer group's joins, rebalances, crashes, assignment and consumed batches. */
function consumerMetrics(registry: client.Registry) {
  const joins = counterIn(registry, {
    name: 'kafka_consumer_group_joins_total',
    help: 'Times a consumer (re)joined its group: the first join and every rebalance it took part in',
    labelNames: ['group'],
  });
  const rebalances = counterIn(registry, {
    name: 'kafka_consumer_rebalances_total',
    help: 'Rebalances a running consumer was told of by the broker (it re-joins its group)',
    labelNames: ['group'],
  });
  const crashes = counterIn(registry, {
    name: 'kafka_consumer_crashes_total',
    help: 'Consumer crashes, by group and whether kafkajs restarts the consumer',
    labelNames: ['group', 'restart'],
  });
  const messages = counterIn(registry, {
    name: 'kafka_consumer_messages_total',
    help: 'Messages consumed (in fully handled batches), by group and topic',
    labelNames: ['group', 'topic'],
  });
  const batches = histogramIn(registry, {
    name: 'kafka_consumer_batch_duration_seconds',
    help: "How long a consumer took to handle a fetched batch of one partition's messages",
    labelNames: ['group'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const joined = gaugeIn(registry, {
    name: 'kafka_consumer_group_joined',
    help: "1 while the group's consumer in this process is a member of its group, else 0",
    labelNames: ['group'],
  });
  const assigned = gaugeIn(registry, {
    name: 'kafka_consumer_assigned_partitions',
    help: "Partitions the group's consumer in this process was assigned at its last join, by topic",
    labelNames: ['group', 'topic'],
  });

  return (consumer: Consumer, group: string, strip: (name: string) => string) => {
    const { GROUP_JOIN, REBALANCING, CRASH, STOP, DISCONNECT, END_BATCH_PROCESS } = consumer.events;
    const consumed = new Map<string, client.Counter.Internal>();
    const batchSeconds = batches.labels({ group });
    let topics: string[] = [];
    const left = () => {
      joined.set({ group }, 0);
      for (const topic of topics) assigned.set({ group, topic }, 0);
    };
    joins.inc({ group }, 0);
    rebalances.inc({ group }, 0);
    for (const restart of ['true', 'false']) crashes.inc({ group, restart }, 0);
    joined.set({ group }, 0);

    consumer.on(GROUP_JOIN, ({ payload }: ConsumerGroupJoinEvent) => {
      joins.inc({ group });
      left(); // a topic no longer assigned reads 0, not its old count
      joined.set({ group }, 1);
      topics = Object.keys(payload.memberAssignment).map(strip);
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        assigned.set({ group, topic: strip(topic) }, partitions.length);
        messages.inc({ group, topic: strip(topic) }, 0);
      }
    });
    consumer.on(REBALANCING, () => rebalances.inc({ group }));
    consumer.on(CRASH, ({ payload }: ConsumerCrashEvent) => {
      crashes.inc({ group, restart: String(payload.restart) });
      left();
    });
    consumer.on(STOP, left);
    consumer.on(DISCONNECT, left);
    consumer.on(END_BATCH_PROCESS, ({ payload }: ConsumerEndBatchProcessEvent) => {
      let counter = consumed.get(payload.topic);
      if (!counter) consumed.set(payload.topic, (counter = messages.labels({ group, topic: strip(payload.topic) })));
      counter.inc(payload.batchSize);
      batchSeconds.observe(payload.duration / 1000);
    });
  };
}

/** As counterIn: one role's second bus (or a second call) gets the gauge back instead of a duplicate-name error. */
function gaugeIn<L extends string>(
  registry: client.Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): client.Gauge<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as client.Gauge<L>;
  return new client.Gauge<L>({ ...config, registers: [registry] });
}
