import { startTestRole, type TestRole } from './roles.ts';

export type TestPlatform = TestRole;

/**
 * The real monolith (SQLite files, in-process bus, HTTP on a free port) in this process, signing with the
 * development key it keeps in its data dir, as `npm start` does. `settings` are flag values, e.g.
 * { mode: 'async' }; a `dataDir` given is kept when it stops (restart tests).
 */
export const startMonolith = (settings: Record<string, unknown> = {}, dataDir?: string): Promise<TestPlatform> =>
  startTestRole({ role: 'monolith', ...settings }, { signingKey: 'development', ...(dataDir ? { dataDir } : {}) });
