/**
 * Issue 12, embedded storage: with --sqlite-encryption-key the monolith's SQLite files (and their WAL) hold
 * no plaintext, a wrong or missing key refuses to start with a clear message that never prints the key, the
 * right key reads the data back, and a key set on an existing plaintext file is refused without touching it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { filesContaining, filesUnder } from '../support/at-rest.ts';
import { call } from '../support/http.ts';
import { startMonolith } from '../support/monolith.ts';
import { createProduct, type Product } from '../support/shop.ts';

const KEY = `right-${randomBytes(16).toString('hex')}`;
const WRONG_KEY = `wrong-${randomBytes(16).toString('hex')}`;

async function startFailure(settings: Record<string, unknown>, dataDir: string): Promise<Error> {
  try {
    const role = await startMonolith(settings, dataDir);
    await role.stop();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the role started');
}

const digest = (dir: string) =>
  filesUnder(dir)
    .filter((f) => f.includes('.sqlite'))
    .sort()
    .map((f) => `${f}:${createHash('sha256').update(readFileSync(f)).digest('hex')}`);

describe('encryption at rest: SQLite (monolith)', function () {
  const marker = `Zebra-Secret-${randomBytes(6).toString('hex')}`;
  const sku = `ENCSKU-${randomBytes(6).toString('hex').toUpperCase()}`;
  const encryptedDir = mkdtempSync(join(tmpdir(), 'hexashop-enc-'));
  const plainDir = mkdtempSync(join(tmpdir(), 'hexashop-plain-'));
  let product: Product; // the one in the encrypted files
  const whileRunning = new Map<string, { files: string[]; hits: string[] }>();

  before(async () => {
    for (const [dir, settings] of [
      [encryptedDir, { sqliteEncryptionKey: KEY }],
      [plainDir, {}],
    ] as const) {
      const role = await startMonolith(settings, dir);
      const created = await createProduct(role, { name: marker, sku, description: `about ${marker}` });
      if (dir === encryptedDir) product = created;
      // While running, the write sits in the WAL (no checkpoint yet): scan that state too.
      whileRunning.set(dir, { files: filesUnder(dir), hits: filesContaining(dir, marker) });
      await role.stop();
    }
  });
  after(() => {
    for (const dir of [encryptedDir, plainDir]) rmSync(dir, { recursive: true, force: true });
  });

  it('control: without a key, the name and SKU are in the files as plaintext', () => {
    const files = filesUnder(plainDir).filter((f) => f.includes('.sqlite'));
    expect(files.length).to.be.greaterThan(0);
    expect(filesContaining(plainDir, marker)).to.not.be.empty;
    expect(filesContaining(plainDir, sku)).to.not.be.empty;
    expect(whileRunning.get(plainDir)?.hits).to.not.be.empty;
  });

  it('with a key, no file in the data dir (databases, WAL, shm) holds the name or the SKU', () => {
    const files = filesUnder(encryptedDir).map((f) => f.slice(encryptedDir.length + 1));
    expect(files).to.include.members(['product_db.sqlite', 'order_db.sqlite']);
    expect(filesContaining(encryptedDir, marker)).to.deep.equal([]);
    expect(filesContaining(encryptedDir, sku)).to.deep.equal([]);
    // Not even SQLite's header: the whole file is ciphertext.
    expect(filesContaining(encryptedDir, 'SQLite format 3')).to.deep.equal([]);
    const running = whileRunning.get(encryptedDir);
    expect(running?.files.some((f) => f.endsWith('product_db.sqlite-wal'))).to.equal(true);
    expect(running?.hits).to.deep.equal([]);
  });

  it('a wrong key refuses to start, saying so without printing either key', async () => {
    const error = await startFailure({ sqliteEncryptionKey: WRONG_KEY }, encryptedDir);
    expect(error.message).to.match(/encryption key is wrong/);
    expect(error.message).to.match(/[a-z]+_db\.sqlite/);
    expect(error.message).to.not.include(WRONG_KEY).and.not.include(KEY);
    expect(error.stack ?? '').to.not.include(WRONG_KEY);
  });

  it('no key on an encrypted file refuses to start', async () => {
    const error = await startFailure({}, encryptedDir);
    expect(error.message).to.match(/is encrypted.*configure its encryption key/);
  });

  it('a key on an existing plaintext file is refused, and the file is left as it was', async () => {
    const before = digest(plainDir);
    const error = await startFailure({ sqliteEncryptionKey: KEY }, plainDir);
    expect(error.message).to.match(/is not encrypted, but an encryption key is configured; refusing/);
    expect(error.message).to.not.include(KEY);
    expect(digest(plainDir)).to.deep.equal(before);
  });

  it('the right key reopens the files and finds the product (after the failed attempts)', async () => {
    const role = await startMonolith({ sqliteEncryptionKey: KEY }, encryptedDir);
    try {
      const found = await call<Product>(role.url, 'GET', `/api/v1/products/${product.id}`);
      expect(found.status).to.equal(200);
      expect(found.body).to.include({ name: marker, sku });
    } finally {
      await role.stop();
    }
    expect(filesContaining(encryptedDir, marker)).to.deep.equal([]);
  });
});
