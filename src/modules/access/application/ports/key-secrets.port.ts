/** The cryptography the access module needs, bound from outside (a CSPRNG and SHA-256). */
export interface KeySecrets {
  randomBytes(length: number): Uint8Array;
  /** SHA-256 of the UTF-8 text, as 64 lower-case hex digits. */
  sha256Hex(text: string): string;
}
