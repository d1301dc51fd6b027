import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { describeCacheContract } from './cache.contract.ts';

describeCacheContract('memory', async () => ({ cache: new MemoryCache(), dispose: async () => {} }));
