/**
 * Encryption at rest for the embedded SQLite files, through libsql's page encryption (SQLite3MultipleCiphers,
 * AES-256-CBC): every page of the database file and of its WAL is encrypted with a key derived from the
 * configured one; the file has no readable header. libsql cannot tell a wrong key from a file that is not a
 * database (both are SQLITE_NOTADB), and it neither encrypts a plain file in place nor opens one with a key,
 * so the state of the file is checked before it is opened and each mismatch is refused with its own message.
 * Messages name the file, never the key.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

/** libsql's option names (libsql 0.5: `new Database(path, { encryptionKey, encryptionCipher })`). */
export const sqliteEncryptionOptions = (key: string) => ({ encryptionKey: key, encryptionCipher: 'aes256cbc' });

/** Every plaintext SQLite file starts with this; an encrypted one starts with random-looking bytes. */
const PLAIN_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export type SqliteFileState = 'absent' | 'plain' | 'encrypted';

export function sqliteFileState(path: string): SqliteFileState {
  if (!existsSync(path)) return 'absent';
  const head = Buffer.alloc(PLAIN_HEADER.length);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (read === 0) return 'absent'; // an empty file: SQLite treats it as a new database
  return head.subarray(0, read).equals(PLAIN_HEADER.subarray(0, read)) ? 'plain' : 'encrypted';
}

export class SqliteEncryptionError extends Error {
  readonly reason: 'plain-file-with-key' | 'encrypted-file-without-key' | 'wrong-key';

  constructor(reason: SqliteEncryptionError['reason'], message: string) {
    super(message);
    this.name = 'SqliteEncryptionError';
    this.reason = reason;
  }
}

/** Refuses to open a file whose state does not match the configuration, before libsql touches it. */
export function checkSqliteFile(path: string, encrypted: boolean): void {
  const state = sqliteFileState(path);
  if (encrypted && state === 'plain') {
    throw new SqliteEncryptionError(
      'plain-file-with-key',
      `the SQLite database ${path} is not encrypted, but an encryption key is configured; refusing to open it ` +
        '(libsql cannot encrypt an existing file in place): unset the key, or move the file away and start on ' +
        'a new encrypted one (see docs/security.md)',
    );
  }
  if (!encrypted && state === 'encrypted') {
    throw new SqliteEncryptionError(
      'encrypted-file-without-key',
      `the SQLite database ${path} is encrypted (or is not a SQLite database); configure its encryption key`,
    );
  }
}

/** libsql's answer to a wrong key (the first read of the file fails), reworded; other errors pass through. */
export function explainSqliteOpenFailure(error: unknown, path: string, encrypted: boolean): unknown {
  const code = (error as { code?: unknown }).code;
  const notADatabase = code === 'SQLITE_NOTADB' || /file is not a database/i.test(String(error));
  if (!encrypted || !notADatabase) return error;
  return new SqliteEncryptionError(
    'wrong-key',
    `cannot read the encrypted SQLite database ${path}: the encryption key is wrong (or the file is damaged)`,
  );
}
