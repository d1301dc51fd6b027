/**
 * Ids are UUIDv7 (RFC 9562): unique, and ordered by creation time, which makes keyset pagination on the
 * id alone stable. The kernel takes no library, and v7 is a few lines on top of the platform's CSPRNG.
 * Random bytes are drawn from the CSPRNG in blocks (one call per 256 ids, not one per id: ids are made
 * several times per order, and the call dominated their cost).
 */
let lastMillis = 0;
let sequence = 0;

const POOL = new Uint8Array(16 * 256);
let poolOffset = POOL.length;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function randomBlock(): Uint8Array {
  if (poolOffset === POOL.length) {
    crypto.getRandomValues(POOL);
    poolOffset = 0;
  }
  const bytes = POOL.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return bytes;
}

export function newId(): string {
  const bytes = randomBlock();
  let millis = Date.now();
  // Keep ids monotonic within one process even when several are made in the same millisecond.
  if (millis <= lastMillis) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMillis += 1;
    millis = lastMillis;
  } else {
    sequence = bytes[6]! & 0x3ff; // random start, leaving room to count up
    lastMillis = millis;
  }
  for (let i = 5; i >= 0; i--) {
    bytes[i] = millis % 256;
    millis = Math.floor(millis / 256);
  }
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let hex = '';
  for (let i = 0; i < 16; i++) {
    hex += HEX[bytes[i]!]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) hex += '-';
  }
  return hex;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);
