import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** A JSON Schema (OpenAPI 3.1 flavour) once every local `$ref` is resolved. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  examples?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Schema;
}

export type Caller = 'anonymous' | 'customer' | 'admin';

export interface Operation {
  method: string;
  /** The path template, e.g. /api/v1/orders/{id}/cancel. */
  path: string;
  operationId: string;
  parameters: Parameter[];
  body: Schema | undefined;
  /** Who may call it, from its security requirements: the role names listed are the roles it allows. */
  allowed: Set<Caller>;
}

const SPEC = new URL('../../../docs/openapi.yaml', import.meta.url);
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/** Follows `#/components/...` references (the spec has no remote ones), cycles excepted. */
function resolve(spec: unknown, node: unknown, seen = new Set<string>()): unknown {
  if (Array.isArray(node)) return node.map((n) => resolve(spec, n, seen));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    if (seen.has(ref)) return {};
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], spec);
    return resolve(spec, target, new Set([...seen, ref]));
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(spec, v, seen)]));
}

/** Every operation of the public API (`/api/v1`), as the OpenAPI document describes it. */
export function apiOperations(): Operation[] {
  const spec = parse(readFileSync(SPEC, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    if (!path.startsWith('/api/v1')) continue;
    const shared = (resolve(spec, item.parameters ?? []) as Parameter[]) ?? [];
    for (const method of METHODS) {
      const raw = item[method] as Record<string, unknown> | undefined;
      if (!raw) continue;
      const op = resolve(spec, raw) as {
        operationId: string;
        parameters?: Parameter[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
        security?: Record<string, string[]>[];
      };
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: [...shared, ...(op.parameters ?? [])],
        body: op.requestBody?.content?.['application/json']?.schema,
        allowed: allowedCallers(op.security),
      });
    }
  }
  return operations;
}

function allowedCallers(security: Record<string, string[]>[] | undefined): Set<Caller> {
  const allowed = new Set<Caller>();
  for (const requirement of security ?? [{}]) {
    const schemes = Object.entries(requirement);
    if (schemes.length === 0) {
      allowed.add('anonymous').add('customer').add('admin');
      continue;
    }
    for (const [, roles] of schemes) {
      if (roles.length === 0) allowed.add('customer').add('admin');
      for (const role of roles) if (role === 'customer' || role === 'admin') allowed.add(role);
    }
  }
  return allowed;
}
