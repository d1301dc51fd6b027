import { conflict, DomainError, invalid, notFound } from '../../../shared/domain-error.ts';

export const ApiKeyErrors = {
  notFound: (id: string) => notFound('API_KEY_NOT_FOUND', `API key ${id} does not exist`),
  revoked: (id: string) => conflict('API_KEY_REVOKED', `API key ${id} is revoked`),
  alreadyRolled: (id: string) => conflict('API_KEY_ROLLED', `API key ${id} was rolled already; roll its successor`),
  invalid: (field: string, why: string) => invalid('INVALID_API_KEY_REQUEST', `${field} ${why}`),
  unavailable: (why: string) => new DomainError('unavailable', 'API_KEYS_UNAVAILABLE', `API keys: ${why}`),
};
