import { readFileSync } from 'node:fs';
import { otelSpanRecorder } from '../adapters/tracing/otel-span-recorder.ts';
import { recordSpansWith } from '../adapters/tracing/spans.ts';
import type { Config } from './config.schema.ts';
import type { Lifecycle } from './lifecycle.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Spans are recorded and sent only when an OTLP endpoint is configured; the last ones go out after everything
 * else has stopped (the stopping itself is traced work: drained requests, handled events).
 */
export function startTracing(config: Config, lifecycle: Lifecycle): void {
  if (config.otlpEndpoint === undefined) return;
  const recorder = otelSpanRecorder({
    endpoint: config.otlpEndpoint,
    serviceName: `hexashop-${config.role}`,
    serviceVersion: VERSION,
    sampleRatio: config.traceSampleRatio,
  });
  recordSpansWith(recorder);
  lifecycle.onStop('telemetry', 'span-recorder', async () => {
    recordSpansWith(undefined);
    await recorder.shutdown();
  });
}
