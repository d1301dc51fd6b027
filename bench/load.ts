/**
 * One bounded autocannon run against a server on loopback, and the figure the bench tables print from it.
 * Shared by the bench targets (run.ts, floors/).
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  connections: number;
  /** Seconds. */
  duration: number;
}

export interface LoadFigure {
  scenario: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export type LoadRequest = autocannon.Request & { path: string };

/** Runs `request` from `connections` connections for `duration` seconds against `url`. */
export function hammer(url: string, options: LoadOptions, request: LoadRequest): Promise<autocannon.Result> {
  return autocannon({ url, connections: options.connections, duration: options.duration, requests: [request] });
}

export function figureOf(scenario: string, result: autocannon.Result): LoadFigure {
  return {
    scenario,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export async function load(
  url: string,
  options: LoadOptions,
  scenario: string,
  request: LoadRequest,
): Promise<LoadFigure> {
  return figureOf(scenario, await hammer(url, options, request));
}
