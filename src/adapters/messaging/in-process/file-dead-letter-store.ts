import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetter, DeadLetterLog } from './dead-letter-store.ts';

/**
 * Dead letters as JSON Lines (`<data dir>/dead-letters.jsonl`): one line per parked event, appended and
 * fsync'd before the bus moves on, so a parked event survives a crash or a restart as it does on Kafka's
 * `<topic>.dlq`. A line holds the event as published, its topic, the group and the error text, nothing
 * more (no stack, no configuration): the file holds no secret the events themselves do not. It is
 * created readable by its owner only, as the events carry customer ids. One process appends to a file
 * (as one process opens an embedded database); any number may read it.
 *
 * No longer where a role parks (that is the `dead_letters` table of the owning module, which `hexashop dlq`
 * reads and settles): a role that finds a file written by an earlier version imports it once at start.
 */
export class FileDeadLetterStore implements DeadLetterLog {
  readonly #path: string;
  /** Appends run one at a time, so lines never interleave and each is on disk before the next. */
  #queue: Promise<void> = Promise.resolve();
  /** At the first append, and after a failed one: the file may end in a line cut short. */
  #repairTail = true;

  constructor(path: string) {
    this.#path = path;
  }

  append(letter: DeadLetter): Promise<void> {
    const appended = this.#queue.then(() => this.#append(`${JSON.stringify(letter)}\n`));
    this.#queue = appended.catch(() => {});
    return appended;
  }

  async read(): Promise<DeadLetter[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    // Text after the last newline is a line being written, or one a crash cut short (see dropTornTail).
    const lines = text.split('\n').slice(0, -1);
    return lines.flatMap((line, i) => (line === '' ? [] : [this.#parse(line, i + 1)]));
  }

  async #append(line: string): Promise<void> {
    const repair = this.#repairTail;
    this.#repairTail = true;
    if (repair) await mkdir(dirname(this.#path), { recursive: true });
    const file = await open(this.#path, 'a+', 0o600);
    try {
      if (repair) await dropTornTail(file);
      await file.appendFile(line);
      await file.sync();
    } finally {
      await file.close();
    }
    // The directory entry too, when the file may just have been created.
    if (repair) await syncDirectory(dirname(this.#path));
    this.#repairTail = false;
  }

  #parse(line: string, number: number): DeadLetter {
    try {
      return JSON.parse(line) as DeadLetter;
    } catch (error) {
      throw new Error(`${this.#path}:${number} is not a dead letter: ${(error as Error).message}`);
    }
  }
}

const TAIL_CHUNK = 64 * 1024;

/**
 * Cuts off a line a crash or a failed write left unfinished, so the next line starts on its own. That
 * line was never acknowledged: its event is delivered again and parked anew.
 */
async function dropTornTail(file: FileHandle): Promise<void> {
  const { size } = await file.stat();
  const chunk = Buffer.alloc(TAIL_CHUNK);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const { bytesRead } = await file.read(chunk, 0, end - start, start);
    const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline >= 0) {
      if (start + newline + 1 < size) await file.truncate(start + newline + 1);
      return;
    }
    end = start;
  }
  if (size > 0) await file.truncate(0);
}

async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened there; NTFS journals the entry
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
