/**
 * The stable code a log line gives an error: a domain error's own `code` (see `DomainError`), else the
 * caller's name for what failed, so log queries and alerts match on a code and never on message text.
 */
export function errorCode(error: unknown, otherwise: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : otherwise;
}
