import {
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterState,
  type DeadLetterStore,
  filterLetters,
  type StoredDeadLetter,
} from './dead-letter-store.ts';

/**
 * The dead letters of a process whose modules each keep their own (a `dead_letters` table in each module's
 * database): a letter goes to the store of the module that owns its consumer group. The composition root
 * attaches each module's store as it opens the database, and routes each group as it subscribes it; a group
 * no module claimed (none in a composed role) goes to the first store attached. Reads merge all stores.
 */
export class RoutedDeadLetterStore implements DeadLetterStore {
  readonly #stores = new Map<string, DeadLetterStore>();
  readonly #owners = new Map<string, string>();

  /** The store of one module (its database). */
  attach(owner: string, store: DeadLetterStore): void {
    this.#stores.set(owner, store);
  }

  /** Letters of `group` go to `owner`'s store. */
  route(group: string, owner: string): void {
    this.#owners.set(group, owner);
  }

  get attached(): boolean {
    return this.#stores.size > 0;
  }

  append(letter: DeadLetter): Promise<void> {
    const owner = this.#owners.get(letter.group);
    const store = (owner === undefined ? undefined : this.#stores.get(owner)) ?? this.#stores.values().next().value;
    if (!store) return Promise.reject(new Error(`no dead-letter store for group ${letter.group}`));
    return store.append(letter);
  }

  async read(): Promise<DeadLetter[]> {
    return (await this.list()).map(({ id: _id, state: _state, settledAt: _at, ...letter }) => letter);
  }

  async list(filter: DeadLetterFilter = {}): Promise<StoredDeadLetter[]> {
    const { limit, ...rest } = filter;
    const all = (await Promise.all([...this.#stores.values()].map((s) => s.list(rest)))).flat();
    all.sort((a, b) => a.parkedAt.localeCompare(b.parkedAt) || a.id.localeCompare(b.id));
    return filterLetters(all, { limit });
  }

  async get(id: string): Promise<StoredDeadLetter | undefined> {
    for (const store of this.#stores.values()) {
      const found = await store.get(id);
      if (found) return found;
    }
    return undefined;
  }

  async settle(id: string, state: Exclude<DeadLetterState, 'parked'>, at: Date): Promise<boolean> {
    for (const store of this.#stores.values()) {
      if (await store.settle(id, state, at)) return true;
    }
    return false;
  }
}
