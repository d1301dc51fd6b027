/**
 * The shapes of the running system, in one table: which modules each role runs, whether it is the gateway,
 * whether it faces clients (and so rate limits; the services behind the gateway see only the gateway), and
 * the defaults that follow from the role. The configuration schema takes its defaults from here and the
 * composition root its modules; nothing else branches on the role.
 */
export type ModuleName = 'product' | 'order';
/** A module with a database of its own: the two business modules, and access (API keys) where a role faces clients. */
export type DatabaseName = ModuleName | 'access';

export interface RoleShape {
  port: number;
  storage: 'sqlite' | 'mysql';
  bus: 'in-process' | 'kafka';
  /** Cache and rate-limit store; none: in-process memory. */
  redisUrl: string | undefined;
  modules: readonly ModuleName[];
  gateway: boolean;
  /** Faces clients directly: rate limits on. */
  public: boolean;
  /** Hosts the access module (managed API keys) and its database: the roles that authenticate clients. */
  access: boolean;
}

const LOCAL_REDIS = 'redis://127.0.0.1:6379';

export const ROLE_TABLE = {
  monolith: {
    port: 8080,
    storage: 'sqlite',
    bus: 'in-process',
    redisUrl: undefined,
    modules: ['product', 'order'],
    gateway: false,
    public: true,
    access: true,
  },
  gateway: {
    port: 8080,
    storage: 'mysql',
    bus: 'kafka',
    redisUrl: LOCAL_REDIS,
    modules: [],
    gateway: true,
    public: true,
    access: true,
  },
  product: {
    port: 8081,
    storage: 'mysql',
    bus: 'kafka',
    redisUrl: LOCAL_REDIS,
    modules: ['product'],
    gateway: false,
    public: false,
    access: false,
  },
  order: {
    port: 8082,
    storage: 'mysql',
    bus: 'kafka',
    redisUrl: LOCAL_REDIS,
    modules: ['order'],
    gateway: false,
    public: false,
    access: false,
  },
} as const satisfies Record<string, RoleShape>;

export type RoleName = keyof typeof ROLE_TABLE;
export const ROLE_NAMES = Object.keys(ROLE_TABLE) as [RoleName, ...RoleName[]];
