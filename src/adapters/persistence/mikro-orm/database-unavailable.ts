/**
 * Why a MySQL database could not be opened, classified from mysql2's error so the composition root can tell
 * the operator what fixes it. It names where (address, schema, user), never the password.
 */
export type DatabaseUnavailableReason =
  'access-denied' | 'unknown-database' | 'connection-refused' | 'timeout' | 'unknown-host' | 'other';

export interface DatabaseTarget {
  /** host:port */
  address: string;
  database: string;
  user: string;
}

/** mysql2's error codes (server errors and Node's socket errors) → reason. */
const REASONS = new Map<unknown, DatabaseUnavailableReason>([
  ['ER_ACCESS_DENIED_ERROR', 'access-denied'], // 1045: no such user, or a wrong password
  ['ER_DBACCESS_DENIED_ERROR', 'access-denied'], // 1044: no rights on the schema (MariaDB says so when it is missing too)
  ['ER_HOST_NOT_PRIVILEGED', 'access-denied'], // 1130: the user may not connect from this host
  ['ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'access-denied'], // 1698: e.g. MariaDB's unix_socket-only root
  ['ER_BAD_DB_ERROR', 'unknown-database'], // 1049: the user has rights on a schema that does not exist
  ['ECONNREFUSED', 'connection-refused'],
  ['ETIMEDOUT', 'timeout'],
  ['PROTOCOL_SEQUENCE_TIMEOUT', 'timeout'],
  ['ENOTFOUND', 'unknown-host'],
  ['EAI_AGAIN', 'unknown-host'],
]);

const PROBLEMS: Record<Exclude<DatabaseUnavailableReason, 'other'>, string> = {
  'access-denied': 'access denied',
  'unknown-database': 'unknown database',
  'connection-refused': 'connection refused',
  timeout: 'timed out',
  'unknown-host': 'host not found',
};

export class DatabaseUnavailable extends Error {
  readonly reason: DatabaseUnavailableReason;
  readonly target: DatabaseTarget;
  /** The server's error number when it answered (1045, 1044, …). */
  readonly errno: number | undefined;
  /** `address: problem (user 'u', schema 's')`, for callers that add their own context. */
  readonly summary: string;

  constructor(reason: DatabaseUnavailableReason, target: DatabaseTarget, detail: string, errno?: number) {
    const problem = reason === 'other' ? detail : PROBLEMS[reason];
    const summary = `${target.address}: ${problem} (user '${target.user}', schema '${target.database}')`;
    super(`cannot open the MySQL database at ${summary}`);
    this.name = 'DatabaseUnavailable';
    this.reason = reason;
    this.target = target;
    this.errno = errno;
    this.summary = summary;
  }
}

/**
 * mysql2's error on connecting to `clientUrl` (and `database`, which wins over the URL's path) as a
 * DatabaseUnavailable. The URL's password is masked in the server's message, just in case.
 */
export function databaseUnavailable(error: unknown, clientUrl: string, database?: string): DatabaseUnavailable {
  const url = new URL(clientUrl);
  const target = {
    address: `${url.hostname}:${url.port || 3306}`,
    database: database ?? decoded(url.pathname.replace(/^\//, '')),
    user: decoded(url.username),
  };
  const e = error as { code?: unknown; errno?: unknown; sqlMessage?: unknown; message?: unknown };
  const reason = REASONS.get(e.code) ?? 'other';
  let detail = String(e.sqlMessage ?? e.message ?? error);
  const password = decoded(url.password);
  if (password) detail = detail.split(password).join('***');
  // Socket errors carry a negative errno of their own; only the server's numbers are kept.
  const errno = typeof e.errno === 'number' && e.errno > 0 ? e.errno : undefined;
  return new DatabaseUnavailable(reason, target, detail, errno);
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
