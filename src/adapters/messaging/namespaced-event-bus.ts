import type { EventEnvelope } from '../../shared/messaging/event-envelope.ts';
import type { ConsumerLag, EventBus, Subscription } from '../../shared/messaging/event-bus.port.ts';

/**
 * Puts every topic and consumer group of a bus under a prefix, so that several environments (or test
 * runs) can share one broker without seeing each other's events. An empty prefix is the contract's names.
 */
export class NamespacedEventBus implements EventBus {
  readonly #inner: EventBus;
  readonly #prefix: string;

  constructor(inner: EventBus, prefix: string) {
    this.#inner = inner;
    this.#prefix = prefix;
  }

  publish(topic: string, events: readonly EventEnvelope[]): Promise<void> {
    return this.#inner.publish(this.#prefix + topic, events);
  }

  subscribe(subscription: Subscription): void {
    this.#inner.subscribe({
      ...subscription,
      topic: this.#prefix + subscription.topic,
      group: this.#prefix + subscription.group,
    });
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  stop(): Promise<void> {
    return this.#inner.stop();
  }

  problem(): string | null {
    return this.#inner.problem();
  }

  /**
   * `hexashop dlq replay` in process: the letter names its topic and group as the inner bus knew them
   * (namespaced already), so they go through unchanged.
   */
  redeliver(letter: { topic: string; group: string; event: EventEnvelope }): Promise<'handled' | 'parked'> {
    const inner = this.#inner as Partial<Pick<NamespacedEventBus, 'redeliver'>>;
    if (!inner.redeliver) return Promise.reject(new Error('this event bus cannot redeliver'));
    return inner.redeliver(letter);
  }

  /** The contract's names again: the prefix is where the events live, not what they are. */
  async lag(): Promise<ConsumerLag[]> {
    const strip = (name: string) => (name.startsWith(this.#prefix) ? name.slice(this.#prefix.length) : name);
    return (await this.#inner.lag()).map((l) => ({ ...l, group: strip(l.group), topic: strip(l.topic) }));
  }
}
