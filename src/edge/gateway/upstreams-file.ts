import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.port.ts';
import type { PoolChange } from './upstream-pool.ts';

/**
 * The gateway's upstreams as a file an operator (or a Kubernetes ConfigMap) rewrites, re-read on a signal
 * (nginx-style): `{ "product": ["http://…"], "order": ["http://…"] }`. A reload swaps both pools at once;
 * a file that cannot be read or does not fit is refused whole and the upstreams in use are kept.
 */
const urls = z.array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })).min(1, 'needs at least one URL');
const UpstreamsFileSchema = z.object({ product: urls, order: urls }).strict();

export type UpstreamSet = z.output<typeof UpstreamsFileSchema>;

/** The upstreams the file names; throws an Error whose message says what is wrong (no stack needed). */
export function readUpstreamsFile(path: string): UpstreamSet {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(error instanceof SyntaxError ? `not JSON: ${error.message}` : `cannot read ${path}`);
  }
  const parsed = UpstreamsFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new Error(
    parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') +
      ' (expected {"product": [urls], "order": [urls]})',
  );
}

/** What a gateway offers a reload: swap both pools, keeping the instances whose URL stays. */
export interface ReloadableUpstreams {
  reload(upstreams: UpstreamSet): Record<keyof UpstreamSet, PoolChange>;
}

/**
 * Re-reads the file and swaps the gateway's upstreams; a bad file is refused with one error line
 * (UPSTREAMS_FILE_INVALID) and changes nothing. Returns whether the new upstreams are in use.
 */
export function reloadUpstreamsFile(gateway: ReloadableUpstreams, path: string, logger: Logger): boolean {
  let upstreams: UpstreamSet;
  try {
    upstreams = readUpstreamsFile(path);
  } catch (error) {
    logger.error('upstreams file refused; the upstreams in use are kept', {
      code: 'UPSTREAMS_FILE_INVALID',
      file: path,
      problem: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
  const changes = gateway.reload(upstreams);
  logger.info('upstreams reloaded', { code: 'UPSTREAMS_RELOADED', file: path, ...changes });
  return true;
}
