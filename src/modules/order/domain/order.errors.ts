import { conflict, DomainError, invalid, notFound } from '../../../shared/domain-error.ts';

export const OrderErrors = {
  notFound: (id: string) => notFound('ORDER_NOT_FOUND', `order ${id} does not exist`),
  illegalTransition: (id: string, from: string, to: string) =>
    conflict('ILLEGAL_TRANSITION', `order ${id} is ${from} and cannot become ${to}`),
  invalid: (why: string) => invalid('INVALID_ORDER', why),
  idempotencyKeyReused: (key: string) =>
    new DomainError(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key ${key} was used with another request body`,
    ),
};
