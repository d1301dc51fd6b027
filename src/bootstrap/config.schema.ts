import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { ROLE_NAMES, ROLE_TABLE, type RoleShape } from './role-table.ts';
import { readUpstreamsFile } from '../edge/gateway/upstreams-file.ts';

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

const readableFile = z.string().refine(
  (path) => {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must name a readable file' },
);

/**
 * `id:role:secret,…`. Messages name the entry by position only: the value is a secret. A secret is header
 * safe (base64, base64url or hex) and long enough that guessing it is hopeless.
 */
const API_KEY = /^([\w.-]{1,64}):(admin|customer):([\w.~+/=-]{32,256})$/;
const apiKeyList = z.string().transform((text, ctx) => {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const keys: { id: string; role: 'admin' | 'customer'; secret: string }[] = [];
  entries.forEach((entry, i) => {
    const match = API_KEY.exec(entry);
    if (!match) {
      const message = `entry ${i + 1} must be id:role:secret (role admin or customer, secret 32-256 of [A-Za-z0-9._~+/=-])`;
      return void ctx.addIssue({ code: 'custom', message });
    }
    keys.push({ id: match[1]!, role: match[2] as 'admin' | 'customer', secret: match[3]! });
  });
  if (new Set(keys.map((k) => k.id)).size < keys.length)
    ctx.addIssue({ code: 'custom', message: 'ids must be unique' });
  if (new Set(keys.map((k) => k.secret)).size < keys.length)
    ctx.addIssue({ code: 'custom', message: 'secrets must be unique' });
  return keys;
});

/** The whole configuration, validated once at the edge; everything inside trusts these types. */
export const ConfigSchema = z
  .object({
    role: z.enum(ROLE_NAMES),
    mode: z.enum(['sync', 'async']),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535).optional(),
    dataDir: z.string().min(1),
    storage: z.enum(['sqlite', 'mysql']).optional(),
    productDbUrl: mysqlUrl,
    orderDbUrl: mysqlUrl,
    accessDbUrl: mysqlUrl,
    // Read replicas of product_db: get, list and search read there unless a read must see a write (README).
    productDbReplicaUrls: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      )
      .pipe(z.array(mysqlUrl))
      .optional(),
    dbPoolSize: z.coerce.number().int().min(1).max(200),
    // The message never echoes the value: it is a secret.
    sqliteEncryptionKey: z.string().min(16, 'must be at least 16 characters').optional(),
    dbTlsCaFile: readableFile.optional(),
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
    kafkaNamespace: z.string().regex(/^[\w.-]{0,60}$/, 'letters, digits, ".", "_" or "-"'),
    // Kafka's own bounds: the broker refuses a session below group.min.session.timeout.ms (6 s by default).
    kafkaSessionTimeoutMs: z.coerce.number().int().min(6_000).max(300_000),
    redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
    productUrl: z.url({ protocol: /^https?$/ }),
    productUpstreams: urlList,
    orderUpstreams: urlList,
    // Replaces the two lists above, and is re-read on SIGHUP (README): its content is checked here too.
    upstreamsFile: readableFile
      .superRefine((path, ctx) => {
        try {
          readUpstreamsFile(path);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional(),
    upstreamTimeoutMs: z.coerce.number().int().min(100).max(300_000),
    rateLimitRead: z.coerce.number().int().min(1),
    rateLimitWrite: z.coerce.number().int().min(1),
    redisKeyPrefix: z.string().regex(/^[\w.:-]{0,64}$/, 'letters, digits, ".", ":", "_" or "-"'),
    cacheLocalTtlMs: z.coerce.number().int().min(1).max(60_000),
    cacheLocalMaxEntries: z.coerce.number().int().min(1).max(10_000_000),
    trustProxyHops: z.coerce.number().int().min(0).max(10),
    apiKeys: apiKeyList.optional(),
    tlsCertFile: readableFile.optional(),
    tlsKeyFile: readableFile.optional(),
    httpRedirectPort: z.coerce.number().int().min(0).max(65535).optional(),
    jwtSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    jwtIssuer: z.string().min(1),
    jwtAudience: z.string().min(1),
    jwtPrivateKeyFile: readableFile.optional(),
    jwtKeyId: z
      .string()
      .regex(/^[\w.:-]{1,128}$/, 'letters, digits, ".", ":", "_" or "-"')
      .optional(),
    jwtPublicKeysFile: readableFile.optional(),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    serviceKeyFile: readableFile.optional(),
    servicePublicKeysFile: readableFile.optional(),
    bodyLimit: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024),
    shutdownTimeoutMs: z.coerce.number().int().min(0).max(120_000),
    logLevel: z.enum(['error', 'warn', 'info', 'http', 'debug']),
    otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    traceSampleRatio: z.coerce.number().min(0).max(1),
    migrate: z.preprocess((v) => (typeof v === 'string' ? v === 'true' : v), z.boolean()),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
      const path = [c.tlsCertFile === undefined ? 'tlsCertFile' : 'tlsKeyFile'];
      ctx.addIssue({ code: 'custom', path, message: 'TLS needs both --tls-cert-file and --tls-key-file' });
    }
    if (c.httpRedirectPort !== undefined && c.tlsCertFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['httpRedirectPort'], message: 'only makes sense with TLS configured' });
    }
  })
  .transform((c) => {
    const role: RoleShape = ROLE_TABLE[c.role];
    return {
      ...c,
      port: c.port ?? role.port,
      storage: c.storage ?? role.storage,
      bus: c.bus ?? role.bus,
      redisUrl: c.redisUrl ?? role.redisUrl,
      apiKeys: c.apiKeys ?? [],
    };
  });

export type Config = z.output<typeof ConfigSchema>;
export type Role = Config['role'];
