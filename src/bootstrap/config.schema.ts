import { z } from 'zod';

const ROLE_PORTS = { monolith: 8080, gateway: 8080, product: 8081, order: 8082 } as const;

const urlList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url({ protocol: /^https?$/ })).min(1));

const mysqlUrl = z.url({ protocol: /^mysql$/, error: 'must be a mysql:// URL' });

/** The whole configuration, validated once at the edge; everything inside trusts these types. */
export const ConfigSchema = z
  .object({
    role: z.enum(['monolith', 'gateway', 'product', 'order']),
    mode: z.enum(['sync', 'async']),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535).optional(),
    dataDir: z.string().min(1),
    storage: z.enum(['sqlite', 'mysql']).optional(),
    productDbUrl: mysqlUrl,
    orderDbUrl: mysqlUrl,
    dbPoolSize: z.coerce.number().int().min(1).max(200),
    bus: z.enum(['in-process', 'kafka']).optional(),
    kafkaBrokers: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port')).min(1)),
    redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
    productUrl: z.url({ protocol: /^https?$/ }),
    productUpstreams: urlList,
    orderUpstreams: urlList,
    rateLimitRead: z.coerce.number().int().min(1),
    rateLimitWrite: z.coerce.number().int().min(1),
    jwtSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    jwtIssuer: z.string().min(1),
    jwtAudience: z.string().min(1),
    bodyLimit: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
    migrate: z.preprocess((v) => (typeof v === 'string' ? v === 'true' : v), z.boolean()),
  })
  .strict()
  .transform((c) => {
    const split = c.role !== 'monolith';
    return {
      ...c,
      port: c.port ?? ROLE_PORTS[c.role],
      storage: c.storage ?? (split ? 'mysql' : 'sqlite'),
      bus: c.bus ?? (split ? 'kafka' : 'in-process'),
      redisUrl: c.redisUrl ?? (split ? 'redis://127.0.0.1:6379' : undefined),
    };
  });

export type Config = z.output<typeof ConfigSchema>;
export type Role = Config['role'];
