import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { expect } from 'chai';
import type { LetterView } from '../../src/bootstrap/dlq.ts';
import { sqlDatabaseOf } from '../../src/adapters/persistence/mikro-orm/shared/sql.ts';
import type { RoutedDeadLetterStore } from '../../src/adapters/messaging/in-process/routed-dead-letter-store.ts';
import { BootTokens } from '../../src/bootstrap/wiring/boot-tokens.ts';
import { hexashop } from '../support/cli.ts';
import { eventually } from '../support/http.ts';
import { startTestRole, TEST_JWT_SECRET, type TestRole } from '../support/roles.ts';
import {
  createProduct,
  getOrder,
  type Order,
  placeOrder,
  settled,
  stockOf,
  tokens,
  TEST_SETTINGS,
} from '../support/shop.ts';

/**
 * Runs SQL on the product database through the running role's own connection: a second SQLite library in
 * this process (node:sqlite) would share its POSIX locks and could reset the WAL under it on close.
 */
async function onProductDb(shop: TestRole, sql: string): Promise<void> {
  const storage = await shop.running.container.getAsync<{ orm: MikroORM }>(Symbol.for('product-storage'));
  await sqlDatabaseOf(storage.orm).run(sql);
}

const BREAK = `create trigger broken_reservations before insert on reservations
  begin select raise(abort, 'reservations are broken'); end`;
const FIX = 'drop trigger broken_reservations';

type ListedLetter = LetterView & { envelope: { id: string; type: string; aggregateId: string } };

/**
 * Park → fix → replay with the real monolith (SQLite, in-process bus) and the real `hexashop dlq` command
 * beside it on the same data dir: the product module's consumer cannot reserve while a trigger breaks its
 * reservations table, so an async order's OrderPlaced is parked in product_db's dead_letters; once fixed,
 * a replay hands it to that group, which reserves once, and the order settles through the running role.
 */
describe('dead letters of the monolith: park, fix, replay (hexashop dlq)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let shop: TestRole;
  const env = () => ({
    ...process.env,
    HEXASHOP_DATA_DIR: dataDir,
    HEXASHOP_JWT_SECRET: TEST_JWT_SECRET,
    HEXASHOP_LOG_LEVEL: 'error',
  });
  const dlq = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await hexashop(['dlq', ...args, '--role', 'monolith', '--json'], env())).stdout) as T;
  const parked = () =>
    eventually(
      async () => {
        const store = await shop.running.container.getAsync<RoutedDeadLetterStore>(BootTokens.DeadLetters);
        const letters = await store.list({ state: 'parked' });
        return letters.length > 0 ? letters : undefined;
      },
      30_000,
      'a dead letter',
    );

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hexashop-dlq-'));
    shop = await startTestRole({ role: 'monolith', mode: 'async', ...TEST_SETTINGS }, { dataDir });
  });
  after(async () => {
    await shop?.stop();
    if (!process.env.KEEP) rmSync(dataDir, { recursive: true, force: true });
    else console.log(dataDir);
  });

  it('parks the event the consumer cannot handle, lists and shows it, and replays it once after the fix', async () => {
    const product = await createProduct(shop, { stock: 10 });
    const customer = tokens(shop).customer('alice');
    await onProductDb(shop, BREAK);
    const placed = await placeOrder(shop, customer, [{ productId: product.id, quantity: 2 }]);
    expect(placed.status).to.equal(202);
    const [letter] = await parked();
    expect(letter).to.deep.include({ topic: 'order-events', group: 'product-service', attempts: 5 });
    expect(letter!.event.aggregateId).to.equal(placed.body.id);

    const listed = await dlq<ListedLetter[]>('list', '--group', 'product-service');
    expect(listed).to.have.length(1);
    expect(listed[0]).to.deep.include({
      id: letter!.id,
      topic: 'order-events',
      group: 'product-service',
      eventType: 'OrderPlaced',
      eventId: letter!.event.id,
      attempts: 5,
      state: 'parked',
    });
    expect(await dlq<ListedLetter[]>('list', '--topic', 'product-events'), 'other topic').to.deep.equal([]);
    const shown = await dlq<ListedLetter>('show', letter!.id);
    expect(shown.error).to.include('reservations are broken');
    expect(shown.envelope).to.deep.include({ id: letter!.event.id, type: 'OrderPlaced', aggregateId: placed.body.id });
    const plain = (await hexashop(['dlq', 'list', '--role', 'monolith'], env())).stdout;
    expect(plain).to.match(/^ID\s+TOPIC\s+GROUP\s+TYPE\s+EVENT\s+ATTEMPTS\s+CODE\s+STATE\s+PARKED AT/);
    expect(plain).to.include(letter!.id);
    expect((await getOrder(shop, customer, placed.body.id)).body.status, 'nothing reserved yet').to.equal('PENDING');
    expect(await stockOf(shop, product.id)).to.equal(10);

    await onProductDb(shop, FIX);
    expect(await dlq<unknown>('replay', letter!.id)).to.deep.equal([{ id: letter!.id, outcome: 'replayed' }]);
    const order: Order = await settled(shop, customer, placed.body.id, 20_000);
    expect(order.status).to.equal('CONFIRMED');
    await eventually(async () => ((await stockOf(shop, product.id)) === 8 ? true : undefined), 10_000, 'stock 8');

    // Replaying again does nothing more: the letter is settled, and the consumer's inbox would skip it anyway.
    expect(await dlq<unknown>('replay', letter!.id)).to.deep.equal([{ id: letter!.id, outcome: 'already-settled' }]);
    expect(await dlq<unknown>('replay', '--all')).to.deep.equal([]);
    const [after] = await dlq<ListedLetter[]>('list');
    expect(after).to.deep.include({ id: letter!.id, state: 'replayed' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await stockOf(shop, product.id), 'reserved once').to.equal(8);
  });

  it('discards a letter: kept for audit, never replayed, idempotent', async () => {
    const product = await createProduct(shop, { stock: 5 });
    const customer = tokens(shop).customer('bob');
    await onProductDb(shop, BREAK);
    const placed = await placeOrder(shop, customer, [{ productId: product.id, quantity: 1 }]);
    const [letter] = await parked();
    await onProductDb(shop, FIX);
    expect(await dlq<unknown>('discard', letter!.id)).to.deep.equal({ id: letter!.id, outcome: 'discarded' });
    expect(await dlq<unknown>('discard', letter!.id)).to.deep.equal({ id: letter!.id, outcome: 'already-settled' });
    expect(await dlq<unknown>('replay', letter!.id)).to.deep.equal([{ id: letter!.id, outcome: 'already-settled' }]);
    const discarded = await dlq<ListedLetter[]>('list', '--state', 'discarded');
    expect(discarded.map((l) => l.id)).to.deep.equal([letter!.id]);
    expect((await getOrder(shop, customer, placed.body.id)).body.status).to.equal('PENDING');
    expect(await stockOf(shop, product.id)).to.equal(5);
  });
});
