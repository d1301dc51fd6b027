/**
 * What other code may use of the access module: the edge authenticates `X-API-Key` through the
 * authenticator (bound by access.module.ts), and reads what an accepted key grants.
 */
export type { KeyCheck } from './application/api-key-authenticator.ts';
export type { ApiKeyRole } from './domain/api-key.ts';
