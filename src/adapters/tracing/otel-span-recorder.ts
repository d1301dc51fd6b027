import {
  type Attributes,
  ROOT_CONTEXT,
  type Span as OtelSpan,
  SpanKind as OtelKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { hostname } from 'node:os';
import { errorCode } from '../../shared/error-code.ts';
import type { Span, SpanAttributes, SpanKind, SpanRecorder } from './spans.ts';
import { parseTraceparent } from './traceparent.ts';

/**
 * The span recorder on the OpenTelemetry SDK: spans are made by its tracer, sampled by its parent-based
 * sampler (a caller's sampled flag is obeyed; new traces are kept at `sampleRatio`), batched and sent by its
 * OTLP/HTTP exporter. The parent of each span is the traceparent handed in (the request's or the event's):
 * the process keeps one context, its request scope, instead of a second async-local store.
 */
export interface OtelOptions {
  /** Where spans go: an OTLP/HTTP endpoint, e.g. http://collector:4318 (spans are posted to /v1/traces). */
  endpoint: string;
  /** `service.name` of every span: hexashop-<role>. */
  serviceName: string;
  serviceVersion: string;
  /** The share of new traces kept (a caller's decision is always followed). */
  sampleRatio: number;
  /** Instead of the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

const KINDS: Record<SpanKind, OtelKind> = {
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
  internal: OtelKind.INTERNAL,
};

export function otelSpanRecorder(options: OtelOptions): SpanRecorder {
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: tracesUrl(options.endpoint) });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      'service.instance.id': `${hostname()}:${process.pid}`,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('hexashop', options.serviceVersion);

  return {
    start(name, kind, parent, attributes) {
      const context = parent === undefined ? ROOT_CONTEXT : contextOf(parent);
      return new RecordedSpan(
        tracer.startSpan(name, { kind: KINDS[kind], attributes: attributes && defined(attributes) }, context),
      );
    },
    shutdown: () => provider.shutdown(),
  };
}

/** OTLP/HTTP's conventional path under a base endpoint (as OTEL_EXPORTER_OTLP_ENDPOINT is read). */
function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}

function contextOf(traceparent: string) {
  const parsed = parseTraceparent(traceparent);
  if (parsed === null) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parsed.traceId,
    spanId: parsed.parentId,
    traceFlags: Number.parseInt(parsed.flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function defined(attributes: SpanAttributes): Attributes {
  const kept: Attributes = {};
  for (const key in attributes) if (attributes[key] !== undefined) kept[key] = attributes[key];
  return kept;
}

class RecordedSpan implements Span {
  readonly traceparent: string;
  readonly #span: OtelSpan;

  constructor(span: OtelSpan) {
    this.#span = span;
    const { traceId, spanId, traceFlags } = span.spanContext();
    this.traceparent = `00-${traceId}-${spanId}-${(traceFlags & TraceFlags.SAMPLED) === 0 ? '00' : '01'}`;
  }

  setAttributes(attributes: SpanAttributes): void {
    this.#span.setAttributes(defined(attributes));
  }

  updateName(name: string): void {
    this.#span.updateName(name);
  }

  end(failure?: unknown): void {
    if (failure !== undefined) {
      const code = errorCode(failure, failure instanceof Error ? failure.name : 'ERROR');
      this.#span.setAttribute(ATTR_ERROR_TYPE, code);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    this.#span.end();
  }
}
