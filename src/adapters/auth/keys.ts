import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';

/**
 * Asymmetric JWT keys: private keys from PEM, public key sets from JWKS (RFC 7517), RFC 7638 thumbprints.
 * Algorithms: ES256 (P-256) and RS256 (RSA ≥ 2048 bits), the ones jsonwebtoken 9 verifies; the algorithm
 * follows from the key's type, never from a token's header. Ed25519 keys are refused: jsonwebtoken 9 has no
 * EdDSA, and a second verification path beside it would be one more place for a check to be missing.
 */
export type AsymmetricAlgorithm = 'ES256' | 'RS256';
export const ALGORITHMS: readonly AsymmetricAlgorithm[] = ['ES256', 'RS256'];

export interface SigningKey {
  kid: string;
  alg: AsymmetricAlgorithm;
  privateKey: KeyObject;
  /** The public half as a JWK (with kid, alg, use), as a JWKS lists it. */
  publicJwk: JsonWebKey;
}

export interface VerificationKey {
  kid: string;
  alg: AsymmetricAlgorithm;
  key: KeyObject;
}

/** Public keys by `kid`. */
export interface KeySet {
  get(kid: string): VerificationKey | undefined;
  /**
   * Asked when a token names a kid the set does not know: a promise settling once the set has been fetched
   * again, or undefined when it cannot be (a file) or may not be yet (fetched too recently).
   */
  refreshFor(kid: string): Promise<void> | undefined;
}

/** A key that cannot be used, and why. */
export class KeyError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'KeyError';
  }
}

/** The algorithm a key's type implies; throws KeyError for any other key. */
export function algorithmOf(key: KeyObject): AsymmetricAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (type === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyError('RSA keys need at least 2048 bits');
    return 'RS256';
  }
  if (type === 'ed25519') throw new KeyError('Ed25519 (EdDSA) keys are not supported: use ES256 (P-256) or RS256');
  throw new KeyError(`unsupported key type ${type ?? 'secret'}${type === 'ec' ? ' (only the P-256 curve)' : ''}`);
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key. */
export function thumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'RSA'
        ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
        : undefined;
  if (!members) throw new KeyError(`no thumbprint for key type ${String(jwk.kty)}`);
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** A private key (PEM, PKCS#8 or traditional) ready to sign with: its algorithm from its type, its kid given or its thumbprint. */
export function signingKeyFromPem(pem: string, kid?: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new KeyError(`not a PEM private key (${(error as Error).message})`);
  }
  const alg = algorithmOf(privateKey);
  const publicKey = createPublicKey(privateKey);
  const id = kid ?? thumbprint(publicKey);
  return { kid: id, alg, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: id, alg, use: 'sig' } };
}

/** The verification key of one JWK; throws KeyError for a key that must not be trusted. */
export function verificationKeyOf(jwk: JsonWebKey): VerificationKey {
  if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) throw new KeyError('a key without a kid');
  if ('d' in jwk) throw new KeyError(`key ${jwk.kid} holds a private part: a public key set must not`);
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new KeyError(`key ${jwk.kid} is not for signatures`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    throw new KeyError(`key ${jwk.kid} is not a valid public key (${(error as Error).message})`);
  }
  let alg: AsymmetricAlgorithm;
  try {
    alg = algorithmOf(key);
  } catch (error) {
    throw new KeyError(`key ${jwk.kid}: ${(error as Error).message}`);
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new KeyError(`key ${jwk.kid} says alg ${jwk.alg} but is ${alg}`);
  return { kid: jwk.kid, alg, key };
}

/**
 * The keys of a JWKS document. `strict`: any unusable key is an error (a file the operator wrote); else
 * unusable keys are skipped (a JWKS URL may list keys for other consumers) and reported in `skipped`.
 */
export function parseJwks(text: string, strict: boolean): { keys: Map<string, VerificationKey>; skipped: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyError('not JSON');
  }
  const list = typeof doc === 'object' && doc !== null && 'keys' in doc ? doc.keys : undefined;
  if (!Array.isArray(list)) throw new KeyError('not a JWKS document: no "keys" array');
  const keys = new Map<string, VerificationKey>();
  const skipped: string[] = [];
  for (const jwk of list as JsonWebKey[]) {
    try {
      const key = verificationKeyOf(jwk);
      if (keys.has(key.kid)) throw new KeyError(`kid ${key.kid} appears twice`);
      keys.set(key.kid, key);
    } catch (error) {
      if (strict) throw error;
      skipped.push((error as Error).message);
    }
  }
  return { keys, skipped };
}

/** A fixed set (a JWKS file, or a signer's own public key). */
export class StaticKeySet implements KeySet {
  readonly #keys: ReadonlyMap<string, VerificationKey>;
  constructor(keys: Iterable<VerificationKey>) {
    this.#keys = new Map([...keys].map((k) => [k.kid, k]));
  }
  get(kid: string) {
    return this.#keys.get(kid);
  }
  refreshFor(): undefined {
    return undefined;
  }
  get size() {
    return this.#keys.size;
  }
}

/** Several sets as one (a JWKS file and a JWKS URL): the first that knows the kid answers. */
export class CombinedKeySet implements KeySet {
  readonly #sets: readonly KeySet[];
  constructor(sets: readonly KeySet[]) {
    this.#sets = sets;
  }
  get(kid: string) {
    for (const set of this.#sets) {
      const key = set.get(kid);
      if (key) return key;
    }
    return undefined;
  }
  refreshFor(kid: string) {
    const pending = this.#sets.map((s) => s.refreshFor(kid)).filter((p) => p !== undefined);
    return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
  }
}

/** A fresh key pair for `hexashop keys generate`: the private key as PKCS#8 PEM and the public JWKS. */
export function generateSigningKey(alg: AsymmetricAlgorithm): { privatePem: string; jwks: { keys: JsonWebKey[] } } {
  const { privateKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 3072 });
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privatePem, jwks: { keys: [signingKeyFromPem(privatePem).publicJwk] } };
}
