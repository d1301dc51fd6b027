/**
 * Every operator setting, once: its config key, flag, environment variable, whether it is a secret, and
 * what it means. The CLI, the environment reader, the redaction of `config print` and the README table
 * are all derived from this list, so they cannot drift apart.
 */
export interface SettingSpec {
  key: string;
  flag: string;
  env: string;
  description: string;
  secret?: boolean;
  kind: 'string' | 'number' | 'boolean';
}

const setting = (key: string, description: string, extra: Partial<SettingSpec> = {}): SettingSpec => {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return {
    key,
    flag: `--${kebab}`,
    env: `HEXASHOP_${kebab.replaceAll('-', '_').toUpperCase()}`,
    description,
    kind: 'string',
    ...extra,
  };
};

export const SETTINGS: SettingSpec[] = [
  setting('role', 'monolith | gateway | product | order'),
  setting('mode', 'sync | async: how orders are placed when a request does not say'),
  setting('host', 'interface to listen on'),
  setting('port', 'listen port (default by role: 8080, 8081, 8082)', { kind: 'number' }),
  setting('dataDir', 'directory for embedded databases and the development signing key'),
  setting('storage', 'sqlite | mysql (default: sqlite for monolith, mysql for split roles)'),
  setting('productDbUrl', 'product_db MySQL URL (mysql://user:password@host:3306/product_db)', { secret: true }),
  setting('orderDbUrl', 'order_db MySQL URL (mysql://user:password@host:3306/order_db)', { secret: true }),
  setting(
    'accessDbUrl',
    'access_db MySQL URL, the API keys (gateway role; mysql://user:password@host:3306/access_db)',
    {
      secret: true,
    },
  ),
  setting(
    'productDbReplicaUrls',
    'comma-separated MySQL URLs of product_db read replicas: product reads go there (none: the primary only)',
    { secret: true },
  ),
  setting('dbPoolSize', 'connections per database pool', { kind: 'number' }),
  setting('sqliteEncryptionKey', 'encrypt the SQLite files with this key (AES-256; none: plaintext)', { secret: true }),
  setting('dbTlsCaFile', 'MySQL: require TLS, verifying the server certificate against this CA (PEM file)'),
  setting('bus', 'in-process | kafka (default: in-process for monolith, kafka for split roles)'),
  setting('kafkaBrokers', 'comma-separated Kafka bootstrap servers'),
  setting('kafkaNamespace', 'prefix for Kafka topics and consumer groups, to share a broker (default: none)'),
  setting(
    'kafkaSessionTimeoutMs',
    'how long a silent (stopped, partitioned) consumer keeps its partitions before the group hands them to another',
    { kind: 'number' },
  ),
  setting('redisUrl', 'Redis URL for cache and rate limits (none: in-process memory)', { secret: true }),
  setting('productUrl', 'product service as seen by the order service (sync mode over HTTP)'),
  setting('productUpstreams', 'gateway: comma-separated product service URLs'),
  setting('orderUpstreams', 'gateway: comma-separated order service URLs'),
  setting(
    'upstreamsFile',
    'gateway: JSON file {"product": [urls], "order": [urls]} used instead of the two lists above, re-read on SIGHUP',
  ),
  setting('upstreamTimeoutMs', 'gateway: how long an instance may take to start answering before 504', {
    kind: 'number',
  }),
  setting('rateLimitRead', 'requests per client per minute for reads', { kind: 'number' }),
  setting('rateLimitWrite', 'requests per client per minute for writes', { kind: 'number' }),
  setting('redisKeyPrefix', 'prefix of every key this process writes to Redis, to share a server'),
  setting(
    'cacheLocalTtlMs',
    'with Redis: how long a product stays in the in-process cache tier (the bound on a stale read elsewhere)',
    { kind: 'number' },
  ),
  setting('cacheLocalMaxEntries', 'products the in-process cache tier keeps at most (least recently used go)', {
    kind: 'number',
  }),
  setting('trustProxyHops', 'reverse proxies in front that append X-Forwarded-For (0: use the socket address)', {
    kind: 'number',
  }),
  setting('apiKeys', 'comma-separated API keys, each id:role:secret (role admin|customer, secret >= 32 chars)', {
    secret: true,
  }),
  setting('tlsCertFile', 'PEM certificate chain: serve HTTPS only (with --tls-key-file)'),
  setting('tlsKeyFile', 'PEM private key of --tls-cert-file'),
  setting('httpRedirectPort', 'with TLS: a plain-HTTP port that redirects GET/HEAD to HTTPS and refuses the rest', {
    kind: 'number',
  }),
  setting('jwtSecret', 'HS256 signing key (at least 32 characters); generated in the data dir in development', {
    secret: true,
  }),
  setting('jwtIssuer', 'expected and issued `iss` claim'),
  setting('jwtPrivateKeyFile', 'PEM private key (ES256 P-256 or RS256 >= 2048 bits) the token issuer signs with'),
  setting('jwtKeyId', '`kid` of --jwt-private-key-file (default: its RFC 7638 thumbprint)'),
  setting('jwtPublicKeysFile', 'JWKS file of the public keys user tokens are verified with (asymmetric mode)'),
  setting('jwksUrl', 'JWKS URL of the public keys user tokens are verified with (cached, refreshed)'),
  setting('serviceKeyFile', 'PEM private key this service signs its calls to other services with'),
  setting('servicePublicKeysFile', 'JWKS file of the service keys the internal API accepts'),
  setting('jwtAudience', 'expected and issued `aud` claim'),
  setting('bodyLimit', 'largest accepted request body, in bytes', { kind: 'number' }),
  setting(
    'shutdownTimeoutMs',
    'on SIGTERM: how long in-flight requests may take to finish before their connections are cut (keep it below the orchestrator grace, e.g. 30 s)',
    { kind: 'number' },
  ),
  setting('logLevel', 'error | warn | info | http (adds a line per request) | debug'),
  setting(
    'otlpEndpoint',
    'OpenTelemetry: send spans to this OTLP/HTTP endpoint, e.g. http://collector:4318 (none: off)',
  ),
  setting('traceSampleRatio', 'OpenTelemetry: share of new traces recorded, 0 to 1 (a caller’s choice is kept)', {
    kind: 'number',
  }),
  setting('migrate', 'apply pending migrations at start', { kind: 'boolean' }),
];

export const isSecretKey = (key: string) => SETTINGS.some((s) => s.key === key && s.secret);

/** Where a secret can be read from instead (Docker/Kubernetes secrets): `--jwt-secret-file` ↔ `HEXASHOP_JWT_SECRET_FILE`. */
export interface SecretFileSpec {
  key: string;
  flag: string;
  env: string;
  /** The secret setting whose value the file holds. */
  of: SettingSpec;
}

export const secretFileOf = (of: SettingSpec): SecretFileSpec => ({
  key: `${of.key}File`,
  flag: `${of.flag}-file`,
  env: `${of.env}_FILE`,
  of,
});

/** Every secret setting's file variant, derived: a setting marked `secret` gets one without further ado. */
export const secretFiles = (): SecretFileSpec[] => SETTINGS.filter((s) => s.secret).map(secretFileOf);
