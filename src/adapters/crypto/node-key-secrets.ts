import { createHash, randomBytes } from 'node:crypto';
import type { KeySecrets } from '../../modules/access/application/ports/key-secrets.port.ts';

/** The access module's cryptography from node:crypto: the OS CSPRNG and SHA-256. */
export const nodeKeySecrets: KeySecrets = {
  randomBytes: (length) => randomBytes(length),
  sha256Hex: (text) => createHash('sha256').update(text, 'utf8').digest('hex'),
};
