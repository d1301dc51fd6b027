import client from 'prom-client';

/**
 * A role's metrics all live in its one registry, and several adapters may ask for the same series (the
 * product and order relays of a monolith, say): the first creates it, the rest get it back.
 */
export function counterIn<L extends string>(
  registry: client.Registry,
  config: { name: string; help: string; labelNames?: readonly L[] },
): client.Counter<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as client.Counter<L>;
  return new client.Counter<L>({ ...config, labelNames: config.labelNames ?? [], registers: [registry] });
}

export function histogramIn<L extends string>(
  registry: client.Registry,
  config: { name: string; help: string; buckets: number[]; labelNames?: readonly L[] },
): client.Histogram<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as client.Histogram<L>;
  return new client.Histogram<L>({ ...config, labelNames: config.labelNames ?? [], registers: [registry] });
}

/** A value known only to a fixed list, else `OTHER`: label values stay a small closed set whatever comes in. */
export const oneOf =
  (known: readonly string[]) =>
  (value: string): string =>
    known.includes(value) ? value : 'OTHER';
