import { createHmac, generateKeyPairSync, type KeyObject, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { type JwtSettings, signToken, TokenRefused, UnknownKey, verifyToken } from '../../src/adapters/auth/jwt.ts';
import { JwksUrlKeySet } from '../../src/adapters/auth/jwks-url-key-set.ts';
import {
  generateSigningKey,
  KeyError,
  parseJwks,
  type SigningKey,
  signingKeyFromPem,
  StaticKeySet,
  thumbprint,
  verificationKeyOf,
} from '../../src/adapters/auth/keys.ts';
import { jwtSettings } from '../../src/bootstrap/signing-key.ts';
import { readCredentials } from '../../src/edge/http/credentials.ts';
import { ApiKeyRing } from '../../src/edge/http/auth.ts';

/** Issue 12: asymmetric tokens, and every forgery we know of refused. */

const ISS = 'hexashop';
const AUD = 'hexashop-api';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const newKey = (alg: 'ES256' | 'RS256', kid?: string): SigningKey =>
  signingKeyFromPem(generateSigningKey(alg).privatePem, kid);
const setOf = (...keys: SigningKey[]) => new StaticKeySet(keys.map((k) => verificationKeyOf(k.publicJwk)));
const pemOf = (key: SigningKey) =>
  verificationKeyOf(key.publicJwk).key.export({ format: 'pem', type: 'spki' }).toString();

const issuer = newKey('ES256');
const rsaIssuer = newKey('RS256');
const service = newKey('ES256');

/** The product role: verifies user tokens (issuer's keys) and service tokens (service keys); holds no private key. */
const product: JwtSettings = {
  issuer: ISS,
  audience: AUD,
  userKeys: setOf(issuer, rsaIssuer),
  serviceKeys: setOf(service),
  secret: 'a-secret-that-must-verify-nothing-in-asymmetric-mode',
};
const issuing: JwtSettings = { ...product, signer: issuer, serviceSigner: service };

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'mallory',
  role: 'admin',
  iss: ISS,
  aud: AUD,
  iat: now(),
  exp: now() + 600,
  ...extra,
});

/** A token with any header and payload, signed by `signer` over the signing input (or not at all). */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, signer?: (input: string) => Buffer) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer ? signer(input).toString('base64url') : ''}`;
}
const es256 = (key: KeyObject) => (input: string) =>
  cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });

const refused = (token: string, scope: 'public' | 'internal' = 'public', settings = product) =>
  expect(() => verifyToken(settings, token, scope)).to.throw(TokenRefused);

describe('JWT attack matrix (asymmetric mode)', () => {
  it('accepts a token signed by the issuer key (ES256 and RS256), its algorithm and kid in the header', () => {
    const token = signToken(issuing, { id: 'alice', role: 'customer' }, 60);
    expect(jwt.decode(token, { complete: true })?.header).to.include({ alg: 'ES256', kid: issuer.kid });
    expect(verifyToken(product, token)).to.deep.equal({ id: 'alice', role: 'customer' });
    const rsa = signToken({ ...issuing, signer: rsaIssuer }, { id: 'bob', role: 'admin' }, 60);
    expect(verifyToken(product, rsa)).to.deep.equal({ id: 'bob', role: 'admin' });
  });

  it('the kid is the RFC 7638 thumbprint unless one is given', () => {
    expect(issuer.kid).to.equal(thumbprint(verificationKeyOf(issuer.publicJwk).key));
    expect(issuer.kid).to.match(/^[\w-]{43}$/);
    expect(newKey('ES256', 'issuer-2026-12').kid).to.equal('issuer-2026-12');
  });

  it('refuses alg "none" (with and without a kid)', () => {
    refused(craft({ alg: 'none', kid: issuer.kid }, claims()));
    refused(craft({ alg: 'none' }, claims()));
  });

  it('refuses HS256 signed with the public key PEM (key confusion), and HS256 with the configured secret', () => {
    for (const key of [issuer, rsaIssuer]) {
      const hmac = (input: string) => createHmac('sha256', pemOf(key)).update(input).digest();
      refused(craft({ alg: 'HS256', typ: 'JWT', kid: key.kid }, claims(), hmac));
    }
    const bySecret = jwt.sign(claims(), product.secret!, { algorithm: 'HS256', keyid: issuer.kid });
    refused(bySecret);
    refused(jwt.sign(claims(), product.secret!, { algorithm: 'HS256' }));
  });

  it('refuses an algorithm other than the key’s own (RS256 header on an ES256 key, ES256 header on an RSA key)', () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    refused(jwt.sign(claims(), attacker, { algorithm: 'RS256', keyid: issuer.kid }));
    refused(craft({ alg: 'ES256', kid: rsaIssuer.kid }, claims(), es256(issuer.privateKey)));
    // A well-formed ES256 signature, but by the issuer's key under the RSA key's kid.
    refused(jwt.sign(claims(), issuer.privateKey, { algorithm: 'ES256', keyid: rsaIssuer.kid }));
  });

  it('refuses an unknown kid, and a token without a kid', () => {
    const stranger = newKey('ES256');
    expect(() => verifyToken(product, signToken({ ...issuing, signer: stranger }, { id: 'x', role: 'admin' }, 60)))
      .to.throw(UnknownKey)
      .with.property('refresh', undefined); // a file: nothing to fetch again
    refused(jwt.sign(claims(), issuer.privateKey, { algorithm: 'ES256' }));
  });

  it('refuses an expired token, a token without exp, and one whose nbf is ahead (a few seconds of skew are forgiven)', () => {
    const es = (payload: Record<string, unknown>) =>
      craft({ alg: 'ES256', kid: issuer.kid }, payload, es256(issuer.privateKey));
    expect(verifyToken(product, es(claims()))).to.deep.equal({ id: 'mallory', role: 'admin' });
    refused(es(claims({ exp: now() - 30 })));
    const { exp: _exp, ...noExp } = claims();
    refused(es(noExp));
    refused(es(claims({ nbf: now() + 120 })));
    refused(es(claims({ nbf: 'soon' })));
    expect(verifyToken(product, es(claims({ nbf: now() + 2 })))).to.have.property('id', 'mallory');
  });

  it('refuses a wrong issuer and a wrong audience', () => {
    const es = (payload: Record<string, unknown>) =>
      craft({ alg: 'ES256', kid: issuer.kid }, payload, es256(issuer.privateKey));
    refused(es(claims({ iss: 'evil' })));
    refused(es(claims({ aud: 'another-api' })));
    const { iss: _iss, ...noIss } = claims();
    refused(es(noIss));
  });

  it('refuses a crit header, even one signed by the issuer', () => {
    refused(craft({ alg: 'ES256', kid: issuer.kid, crit: ['exp'] }, claims(), es256(issuer.privateKey)));
  });

  it('refuses a tampered payload and a stripped signature', () => {
    const [h, , s] = signToken(issuing, { id: 'alice', role: 'customer' }, 60).split('.');
    refused(`${h}.${b64(claims({ sub: 'alice', role: 'admin' }))}.${s}`);
    refused(`${h}.${b64(claims({ sub: 'alice', role: 'customer' }))}.`);
    const [h2, p2] = signToken(issuing, { id: 'alice', role: 'customer' }, 60).split('.');
    refused(`${h2}.${p2}.`);
    refused(`${h2}.${p2}`);
  });

  it('keeps the two key sets apart: service keys never pass the public API, user keys never the internal one', () => {
    const serviceToken = signToken(issuing, { id: 'order-service', role: 'service' }, 60, 'service');
    expect(verifyToken(product, serviceToken, 'internal')).to.deep.equal({ id: 'order-service', role: 'service' });
    refused(serviceToken, 'public');
    // A compromised order service minting an admin token with its own key.
    const forged = jwt.sign(claims(), service.privateKey, { algorithm: 'ES256', keyid: service.kid });
    refused(forged, 'public');
    refused(forged, 'internal'); // and the internal API takes role `service` only
    // The issuer's key cannot make service tokens, nor a service role on the public API.
    const userService = signToken(issuing, { id: 'order-service', role: 'service' }, 60);
    refused(userService, 'internal');
    refused(userService, 'public');
    // A role without a service key set refuses every token on its internal API.
    refused(serviceToken, 'internal', { ...product, serviceKeys: undefined });
  });

  it('refuses key material that must not be trusted', () => {
    expect(() => verificationKeyOf({ ...issuer.privateKey.export({ format: 'jwk' }), kid: 'p' })).to.throw(
      KeyError,
      /private/,
    );
    expect(() => verificationKeyOf({ ...issuer.publicJwk, alg: 'RS256' })).to.throw(KeyError, /says alg/);
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    expect(() => verificationKeyOf({ ...small, kid: 's' })).to.throw(KeyError, /2048/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => signingKeyFromPem(ed)).to.throw(KeyError, /Ed25519/);
    expect(() => parseJwks(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'o' }] }), true)).to.throw(
      KeyError,
    );
    expect(parseJwks(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'o' }] }), false).keys.size).to.equal(0);
  });
});

describe('kid rotation without downtime', () => {
  const old = newKey('ES256');
  const fresh = newKey('ES256');
  const principal = { id: 'alice', role: 'customer' } as const;
  const verifier = (...keys: SigningKey[]): JwtSettings => ({ issuer: ISS, audience: AUD, userKeys: setOf(...keys) });

  it('old and new keys both verify while both are listed; new tokens name the new kid; the old is refused once removed', () => {
    const oldToken = signToken({ ...verifier(old), signer: old }, principal, 600);
    const both = verifier(old, fresh);
    const newToken = signToken({ ...both, signer: fresh }, principal, 600);
    expect(jwt.decode(newToken, { complete: true })?.header.kid).to.equal(fresh.kid);
    expect(verifyToken(both, oldToken)).to.deep.equal(principal);
    expect(verifyToken(both, newToken)).to.deep.equal(principal);
    expect(() => verifyToken(verifier(fresh), oldToken)).to.throw(TokenRefused);
    expect(verifyToken(verifier(fresh), newToken)).to.deep.equal(principal);
  });

  describe('from a JWKS URL', () => {
    let server: Server;
    let url: string;
    let served: { status: number; body: string };
    let fetches = 0;
    const jwksOf = (...keys: SigningKey[]) => ({
      status: 200,
      body: JSON.stringify({ keys: keys.map((k) => k.publicJwk) }),
    });

    before(async () => {
      served = jwksOf(old);
      server = createServer((_req, res) => {
        fetches++;
        res.writeHead(served.status, { 'content-type': 'application/json' }).end(served.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('picks up a key published later without a restart: a token with the new kid waits for one fetch, then passes', async () => {
      served = jwksOf(old);
      const keys = new JwksUrlKeySet({ url, cooldownSeconds: 1 });
      try {
        await keys.refresh();
        const settings: JwtSettings = { issuer: ISS, audience: AUD, userKeys: keys };
        expect(verifyToken(settings, signToken({ ...settings, signer: old }, principal, 60))).to.deep.equal(principal);

        served = jwksOf(old, fresh); // the issuer publishes its next key, then starts signing with it
        await new Promise((resolve) => setTimeout(resolve, 1100)); // past the cooldown of the first fetch
        const token = signToken({ ...settings, signer: fresh }, principal, 60);
        // Through the edge's credentials step: the first request with the new kid is served, not refused.
        const req = {
          headers: { authorization: `Bearer ${token}` },
          rawHeaders: ['Authorization', 'x'],
        } as unknown as IncomingMessage;
        const step = readCredentials(settings, new ApiKeyRing([]));
        await new Promise<void>((resolve) => step(req, {} as never, () => resolve()));
        expect(req.principal).to.deep.equal(principal);
        expect(req.credentialsRefused).to.equal(undefined);

        // An unknown kid fetches again at most once per cooldown: a flood of made-up kids costs one fetch.
        const before = fetches;
        const stranger = signToken({ ...settings, signer: newKey('ES256') }, principal, 60);
        for (let i = 0; i < 5; i++) {
          try {
            verifyToken(settings, stranger);
          } catch (error) {
            expect(error).to.be.instanceOf(UnknownKey);
            expect((error as UnknownKey).refresh).to.equal(undefined);
          }
        }
        expect(fetches).to.equal(before);
      } finally {
        keys.close();
      }
    });

    it('retires a removed key after the next refresh, and keeps the keys it has while the URL is down', async () => {
      served = jwksOf(old, fresh);
      const keys = new JwksUrlKeySet({ url, cooldownSeconds: 0 });
      try {
        await keys.refresh();
        const settings: JwtSettings = { issuer: ISS, audience: AUD, userKeys: keys };
        const oldToken = signToken({ ...settings, signer: old }, principal, 600);
        const newToken = signToken({ ...settings, signer: fresh }, principal, 600);
        served = { status: 503, body: 'down' };
        await keys.refresh();
        expect(verifyToken(settings, oldToken)).to.deep.equal(principal); // stale keys kept
        served = { status: 200, body: '{"not":"jwks"}' };
        await keys.refresh();
        expect(verifyToken(settings, newToken)).to.deep.equal(principal);
        served = jwksOf(fresh);
        await keys.refresh();
        expect(verifyToken(settings, newToken)).to.deep.equal(principal);
        expect(() => verifyToken(settings, oldToken)).to.throw(TokenRefused);
      } finally {
        keys.close();
      }
    });
  });
});

describe('key configuration (jwtSettings)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hexashop-keys-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const base = { jwtIssuer: ISS, jwtAudience: AUD };
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('HS256 still serves the zero-config monolith: a development key in the data dir, stable across restarts', () => {
    const dataDir = join(dir, 'data');
    const first = jwtSettings({ ...base, dataDir }, {});
    expect(first.secret).to.be.a('string').with.length.above(32);
    expect(first.userKeys).to.equal(undefined);
    const token = signToken(first, { id: 'alice', role: 'customer' }, 60);
    expect(jwt.decode(token, { complete: true })?.header.alg).to.equal('HS256');
    expect(verifyToken(jwtSettings({ ...base, dataDir }, {}), token)).to.deep.equal({ id: 'alice', role: 'customer' });
    // HS256 mode, as before: the shared secret also signs and verifies service tokens.
    const serviceToken = signToken(first, { id: 'order-service', role: 'service' }, 60, 'service');
    expect(verifyToken(first, serviceToken, 'internal')).to.deep.equal({ id: 'order-service', role: 'service' });
    expect(() => jwtSettings({ ...base, dataDir }, { NODE_ENV: 'production' })).to.throw(/required/);
  });

  it('asymmetric roles: the issuer signs, the others only verify, and the secret verifies nothing', () => {
    const issuerPem = write('issuer.pem', generateSigningKey('ES256').privatePem);
    const servicePem = write('service.pem', generateSigningKey('RS256').privatePem);
    const jwksOf = (pem: string) => JSON.stringify({ keys: [signingKeyFromPem(readFileSync(pem, 'utf8')).publicJwk] });
    const issuerJwks = write('issuer.jwks.json', jwksOf(issuerPem));
    const serviceJwks = write('service.jwks.json', jwksOf(servicePem));
    const secret = { jwtSecret: 'x'.repeat(40), dataDir: dir };
    const tokenIssuer = jwtSettings({ ...base, ...secret, jwtPrivateKeyFile: issuerPem, jwtKeyId: 'k1' }, {});
    const order = jwtSettings({ ...base, ...secret, jwtPublicKeysFile: issuerJwks, serviceKeyFile: servicePem }, {});
    const productRole = jwtSettings(
      { ...base, ...secret, jwtPublicKeysFile: issuerJwks, servicePublicKeysFile: serviceJwks },
      {},
    );
    expect(order.signer).to.equal(undefined);
    expect(productRole.signer).to.equal(undefined);
    expect(productRole.serviceSigner).to.equal(undefined);

    // The issuer's kid was given: the JWKS lists the thumbprint, so its tokens are refused — kid must match.
    const customer = { id: 'alice', role: 'customer' } as const;
    expect(verifyToken(tokenIssuer, signToken(tokenIssuer, customer, 60))).to.deep.equal(customer);
    expect(() => verifyToken(productRole, signToken(tokenIssuer, customer, 60))).to.throw(UnknownKey);
    const thumbprinted = jwtSettings({ ...base, ...secret, jwtPrivateKeyFile: issuerPem }, {});
    expect(verifyToken(productRole, signToken(thumbprinted, customer, 60))).to.deep.equal(customer);

    const serviceToken = signToken(order, { id: 'order-service', role: 'service' }, 60, 'service');
    expect(verifyToken(productRole, serviceToken, 'internal')).to.have.property('role', 'service');
    expect(() => verifyToken(productRole, serviceToken)).to.throw(TokenRefused);
    expect(() => signToken(order, customer, 60)).to.throw(/--jwt-private-key-file/);
    expect(() => verifyToken(productRole, jwt.sign(claims(), secret.jwtSecret, { algorithm: 'HS256' }))).to.throw(
      TokenRefused,
    );
  });

  it('names the setting of a broken key file', () => {
    const bad = write('bad.json', '{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "o"}]}');
    expect(() => jwtSettings({ ...base, dataDir: dir, jwtPublicKeysFile: bad }, {})).to.throw(/--jwt-public-keys-file/);
    const notPem = write('bad.pem', 'nope');
    expect(() => jwtSettings({ ...base, dataDir: dir, serviceKeyFile: notPem }, {})).to.throw(/--service-key-file/);
    const jwks = write('ok.jwks.json', JSON.stringify({ keys: [issuer.publicJwk] }));
    // The order role must sign its service calls with its own key: the shared secret is out in asymmetric mode.
    expect(() => jwtSettings({ ...base, dataDir: dir, role: 'order', jwtPublicKeysFile: jwks }, {})).to.throw(
      /--service-key-file/,
    );
  });
});
