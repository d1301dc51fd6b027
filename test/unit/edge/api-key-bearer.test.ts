import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { API_KEY_TOKEN_TTL_SECONDS, signToken, TokenRefused, verifyToken } from '../../../src/adapters/auth/jwt.ts';
import { apiKeyBearer } from '../../../src/edge/gateway/api-key-bearer.ts';

const jwt = {
  secret: 'unit-test-signing-key-of-enough-length-0123456789',
  issuer: 'hexashop',
  audience: 'hexashop-api',
};

describe('apiKeyBearer (the gateway vouching for an API key it accepted)', () => {
  const request = (principal?: { id: string; role: 'admin' | 'customer' }) => ({ principal }) as IncomingMessage;

  it('replaces X-API-Key by a short-lived bearer token for the key, reused while fresh', () => {
    const vouch = apiKeyBearer(jwt);
    const principal = { id: 'apikey:0190d6a0-0000-7000-8000-000000000001', role: 'customer' as const };
    const first: Record<string, string | string[]> = { 'x-api-key': 'hxs_live_secret', accept: 'application/json' };
    vouch(request(principal), first);
    expect(first).to.not.have.property('x-api-key');
    expect(first.accept).to.equal('application/json');
    const token = String(first.authorization).replace(/^Bearer /, '');
    expect(verifyToken(jwt, token)).to.deep.equal(principal);
    const second: Record<string, string | string[]> = { 'x-api-key': 'hxs_live_secret' };
    vouch(request(principal), second);
    expect(second.authorization).to.equal(first.authorization);
  });

  it('leaves requests without an accepted key alone', () => {
    const vouch = apiKeyBearer(jwt);
    const headers: Record<string, string | string[]> = { authorization: 'Bearer user-token' };
    vouch(request({ id: 'user-1', role: 'admin' }), headers);
    expect(headers).to.deep.equal({ authorization: 'Bearer user-token' });
    const unauthenticated: Record<string, string | string[]> = { 'x-api-key': 'refused' };
    vouch(request(), unauthenticated);
    expect(unauthenticated).to.deep.equal({ 'x-api-key': 'refused' });
  });

  it('lets verifyToken accept an apikey: subject only in a token as short-lived as the minted ones', () => {
    const principal = { id: 'apikey:ci', role: 'admin' as const };
    expect(verifyToken(jwt, signToken(jwt, principal, API_KEY_TOKEN_TTL_SECONDS))).to.deep.equal(principal);
    expect(() => verifyToken(jwt, signToken(jwt, principal, API_KEY_TOKEN_TTL_SECONDS + 1))).to.throw(TokenRefused);
    expect(() => verifyToken(jwt, signToken(jwt, principal, 3600))).to.throw(TokenRefused);
  });
});
