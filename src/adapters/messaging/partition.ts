import { PARTITIONS } from '../../shared/messaging/event-envelope.ts';

/** Same key → same partition, so one aggregate's events keep their order (FNV-1a, stable across processes). */
export function partitionOf(key: string, partitions = PARTITIONS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
