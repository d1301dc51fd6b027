/**
 * What a warning or an error line must carry: a stable UPPER_SNAKE `code` (see docs/observability.md, "Log
 * codes") that log queries and alerts match on, never the message text.
 */
export interface CodedMeta {
  code: string;
  [field: string]: unknown;
}

/** The core logs through this; bootstrap binds it to winston. */
export interface Logger {
  info(message: string, meta?: Record<string, unknown>): void;
  /** A request served (the access log): below info, above debug. */
  http(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta: CodedMeta): void;
  error(message: string, meta: CodedMeta): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, http() {}, warn() {}, error() {}, debug() {} };
