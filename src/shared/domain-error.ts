/**
 * The one error type the core raises. It carries a stable machine-readable `code` and a category;
 * the HTTP edge maps categories to status codes, so the core never knows about HTTP.
 */
export type ErrorCategory =
  'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'precondition-failed' | 'unprocessable' | 'unavailable';

export class DomainError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;

  constructor(category: ErrorCategory, code: string, message: string) {
    super(message);
    this.name = 'DomainError';
    this.category = category;
    this.code = code;
  }
}

export const invalid = (code: string, message: string) => new DomainError('invalid', code, message);
export const notFound = (code: string, message: string) => new DomainError('not-found', code, message);
export const conflict = (code: string, message: string) => new DomainError('conflict', code, message);
export const unavailable = (code: string, message: string) => new DomainError('unavailable', code, message);
