import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetterStore } from '../adapters/messaging/in-process/dead-letter-store.ts';
import { FileDeadLetterStore } from '../adapters/messaging/in-process/file-dead-letter-store.ts';
import type { Logger } from '../shared/logger.port.ts';
import type { Config } from './config.schema.ts';

/**
 * Earlier versions parked in-process dead letters in `<data dir>/dead-letters.<role>.jsonl`. A role that
 * finds that file copies its letters into the owning modules' `dead_letters` tables once, then renames it
 * `….imported` (kept, not deleted). A crash between the copy and the rename imports them again at the
 * next start: a duplicate letter, never a lost one (replaying both is harmless, the consumers' inbox).
 */
export async function importDeadLetterFile(config: Config, store: DeadLetterStore, logger: Logger): Promise<void> {
  const path = join(config.dataDir, `dead-letters.${config.role}.jsonl`);
  if (!existsSync(path)) return;
  const letters = await new FileDeadLetterStore(path).read();
  for (const letter of letters) await store.append(letter);
  renameSync(path, `${path}.imported`);
  logger.info('dead letters imported from file', { path, letters: letters.length });
}
