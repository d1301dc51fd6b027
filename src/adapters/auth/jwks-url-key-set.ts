import { request } from 'undici';
import { type Logger, silentLogger } from '../../shared/logger.port.ts';
import { type KeySet, parseJwks, type VerificationKey } from './keys.ts';

export interface JwksUrlOptions {
  url: string;
  logger?: Logger;
  /** Fetched again this often (keys added for a rotation are learnt by then at the latest). Default 300 s. */
  refreshSeconds?: number;
  /** A token with an unknown kid fetches the set again, at most this often. Default 30 s. */
  cooldownSeconds?: number;
  /** Deadline of one fetch. Default 5000 ms. */
  timeoutMs?: number;
}

const MAX_BYTES = 256 * 1024;

/**
 * Public keys from a JWKS URL: fetched at once, then periodically, and again (at most once per cooldown)
 * when a token names a kid it does not know, so a key published for a rotation is used without a restart.
 * A failed fetch keeps the keys it had (an issuer briefly down must not log every user out); an answer it
 * cannot read is a failure too. Keys that cannot be used (other algorithms) are skipped, with a warning.
 */
export class JwksUrlKeySet implements KeySet {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout;
  #keys: ReadonlyMap<string, VerificationKey> = new Map();
  #inFlight: Promise<void> | undefined;
  #lastAttempt = 0;

  constructor(options: JwksUrlOptions) {
    this.#url = options.url;
    this.#logger = options.logger ?? silentLogger;
    this.#cooldownMs = (options.cooldownSeconds ?? 30) * 1000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#timer = setInterval(() => void this.refresh(), (options.refreshSeconds ?? 300) * 1000).unref();
    void this.refresh();
  }

  get(kid: string) {
    return this.#keys.get(kid);
  }

  refreshFor(): Promise<void> | undefined {
    if (this.#inFlight) return this.#inFlight;
    if (Date.now() - this.#lastAttempt < this.#cooldownMs) return undefined;
    return this.refresh();
  }

  /** Fetches the set now (or joins the fetch under way); never rejects. */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #fetch(): Promise<void> {
    this.#lastAttempt = Date.now();
    try {
      const res = await request(this.#url, {
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { accept: 'application/json' },
      });
      const text = await readCapped(res.body);
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      const { keys, skipped } = parseJwks(text, false);
      for (const reason of skipped)
        this.#logger.warn(`JWKS ${this.#url}: key skipped: ${reason}`, { code: 'JWKS_KEY_SKIPPED' });
      this.#keys = keys;
    } catch (error) {
      this.#logger.warn(`JWKS ${this.#url} could not be fetched, keeping the keys known: ${(error as Error).message}`, {
        code: 'JWKS_FETCH_FAILED',
      });
    }
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BYTES) {
      body.destroy();
      throw new Error(`the answer is over ${MAX_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
