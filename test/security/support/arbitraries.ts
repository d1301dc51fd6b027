import fc from 'fast-check';
import type { Schema } from './openapi.ts';

/**
 * Values for a JSON Schema, as an attacker would send them: mostly values that fit the schema (so the
 * request gets past the first check and reaches the deeper ones), mixed with values that break it in the
 * ways that break servers (wrong types, huge and empty strings, control and bidi characters, injection
 * payloads, numbers at the edges of what JSON and JavaScript hold, extra fields).
 */
export const HOSTILE: readonly unknown[] = [
  null,
  '',
  ' ',
  'x'.repeat(20_000),
  '\u0000',
  '\u202e\u0000\ud800',
  '<script>alert(1)</script>',
  "' OR '1'='1' --",
  '../../../../etc/passwd',
  '${jndi:ldap://127.0.0.1/x}',
  '%00%0d%0a',
  '😀'.repeat(300),
  -1,
  0,
  -0,
  2 ** 31,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  1.5,
  true,
  [],
  [null],
  {},
  { $gt: '' },
  { __proto__: { admin: true } },
];

export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2 }) },
);

/** Names a client should not be able to set: ids, owners, states, totals, timestamps, versions. */
const MASS_ASSIGNMENT = [
  'id',
  'customerId',
  'status',
  'totalCents',
  'createdAt',
  'updatedAt',
  'version',
  'role',
  'reservedStock',
  'rejectionReason',
];

/** Fits the schema, with a chance at each level of turning hostile. */
/** Values known to exist, by property name (e.g. `productId`: the ids of real products), to reach deeper. */
export type Known = Record<string, fc.Arbitrary<unknown>>;

export function fuzzed(schema: Schema | undefined, known: Known = {}, depth = 0): fc.Arbitrary<unknown> {
  // Rarer inside: a request with one bad field is refused whatever the others hold, so most must fit.
  return fc.oneof(
    { weight: depth === 0 ? 5 : 14, arbitrary: fitting(schema, known, depth) },
    { weight: 1, arbitrary: hostile },
  );
}

function fitting(schema: Schema | undefined, known: Known, depth: number): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return hostile;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => fitting(s, known, depth + 1)));
  if (schema.allOf) return fitting(Object.assign({}, ...schema.allOf) as Schema, known, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fuzzed(schema.items, known, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'object':
      return objectFor(schema, known, depth);
    default:
      return hostile;
  }
}

function stringFor(schema: Schema): fc.Arbitrary<string> {
  // A documented example (e.g. a currency the server knows) half the time: a pattern alone cannot say which
  // values of its shape are real.
  const examples = (schema.examples ?? []).filter((e): e is string => typeof e === 'string');
  if (examples.length > 0) return fc.oneof(fc.constantFrom(...examples), stringShaped(schema));
  return stringShaped(schema);
}

function stringShaped(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  const lengths = { minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 200) };
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ ...lengths, unit: 'grapheme-ascii' }) },
    { weight: 1, arbitrary: fc.string({ ...lengths, unit: 'grapheme' }) },
  );
}

function objectFor(schema: Schema, known: Known, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const shape = Object.fromEntries(
    Object.entries(properties).map(([k, s]) => {
      const value = fuzzed(s, known, depth + 1);
      return [k, known[k] ? fc.oneof({ weight: 3, arbitrary: known[k] }, { weight: 1, arbitrary: value }) : value];
    }),
  );
  const record = fc.record(shape, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
  // Now and then a field the schema does not have (mass assignment, or a typo a strict schema must refuse).
  const extra = sometimes(fc.tuple(fc.constantFrom(...MASS_ASSIGNMENT, '__proto__', 'constructor'), hostile), 8);
  return fc.tuple(record, extra).map(([value, added]) => {
    const object = { ...value } as Record<string, unknown>;
    if (added) Object.defineProperty(object, added[0], { value: added[1], enumerable: true, writable: true });
    return object;
  });
}

/** Header values fetch can send (visible ASCII and spaces); anything else is out of the HTTP grammar. */
export const headerSafe = (value: unknown): string =>
  String(typeof value === 'string' ? value : JSON.stringify(value))
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, 200);

/** `arbitrary` once in `every` draws, else undefined (fc.option's `freq` is the other way round: nil's odds). */
export const sometimes = <T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
