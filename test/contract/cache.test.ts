import { randomUUID } from 'node:crypto';
import { MemoryCache } from '../../src/adapters/cache/memory/memory-cache.ts';
import { RedisCache } from '../../src/adapters/cache/redis/redis-cache.ts';
import { connectRedis } from '../../src/adapters/cache/redis/redis-client.ts';
import { silentLogger } from '../../src/shared/logger.port.ts';
import { integrationServices } from '../support/services.ts';
import { describeCacheContract } from './cache.contract.ts';

describeCacheContract('memory', async () => ({ cache: new MemoryCache(), dispose: async () => {} }));

describeCacheContract('redis', async () => {
  const { redisUrl } = await integrationServices();
  const redis = await connectRedis(redisUrl, silentLogger);
  // A prefix per test keeps runs apart on a shared server.
  return {
    cache: new RedisCache(redis, silentLogger, `test:${randomUUID()}:`),
    dispose: async () => void redis.disconnect(),
  };
});
