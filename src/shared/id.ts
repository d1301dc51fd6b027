/**
 * Ids are UUIDv7 (RFC 9562): unique, and ordered by creation time, which makes keyset pagination on the
 * id alone stable. The kernel takes no library, and v7 is twelve lines on top of the platform's CSPRNG.
 */
let lastMillis = 0;
let sequence = 0;

export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
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
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);
