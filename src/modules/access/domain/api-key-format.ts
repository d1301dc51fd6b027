/**
 * The format of a managed API key: `hxs_live_` + 24 base62 characters drawn uniformly from a CSPRNG
 * (log2(62^24) ≈ 142.9 bits) + 6 base62 characters of CRC-32 over what precedes them. The checksum is no
 * secret and no defence against forgery: it lets the edge refuse a mistyped, truncated or made-up key
 * without a database lookup, and lets secret scanners tell a real key from noise (as GitHub's tokens do).
 */
export const KEY_PREFIX = 'hxs_live_';
export const RANDOM_LENGTH = 24;
export const CHECKSUM_LENGTH = 6;
export const KEY_LENGTH = KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** Characters of the random part kept (and shown) to tell keys apart: the start and the end. */
export const SHOWN_CHARACTERS = 4;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A number as exactly `width` base62 digits (62^6 > 2^32, so a CRC-32 always fits in six). */
function base62(value: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export const checksumOf = (body: string) => base62(crc32(body), CHECKSUM_LENGTH);

/**
 * A new key from random bytes (a CSPRNG's). Each byte below 248 (= 4 × 62) gives one character, the rest
 * are skipped, so every character is uniform over the alphabet; returns null when the bytes ran out
 * (hand it more: 48 bytes fail with a probability below 10^-20).
 */
export function keyFromRandomBytes(bytes: Uint8Array): string | null {
  let random = '';
  for (const byte of bytes) {
    if (byte >= 248) continue;
    random += ALPHABET[byte % 62];
    if (random.length === RANDOM_LENGTH) {
      const body = `${KEY_PREFIX}${random}`;
      return `${body}${checksumOf(body)}`;
    }
  }
  return null;
}

/** Whether a presented string is a well-formed key with a correct checksum: no lookup for anything else. */
export function isWellFormedKey(presented: string): boolean {
  if (presented.length !== KEY_LENGTH || !KEY_PATTERN.test(presented)) return false;
  const body = presented.slice(0, KEY_LENGTH - CHECKSUM_LENGTH);
  return checksumOf(body) === presented.slice(KEY_LENGTH - CHECKSUM_LENGTH);
}

/** What may be shown of a key after it was created: its prefix and the first and last characters of the rest. */
export function visiblePartsOf(key: string): { prefix: string; start: string; end: string } {
  const rest = key.slice(KEY_PREFIX.length);
  return { prefix: KEY_PREFIX, start: rest.slice(0, SHOWN_CHARACTERS), end: rest.slice(-SHOWN_CHARACTERS) };
}
