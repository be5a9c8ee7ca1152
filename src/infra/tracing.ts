/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set: the
 * standard variables configure the OTLP/HTTP exporter, the sampler (OTEL_TRACES_SAMPLER) and the
 * service's name (OTEL_SERVICE_NAME). One trace follows an ingest request through its signal, the
 * workflow task, the recording activity and each webhook attempt: Temporal's interceptors carry the
 * context in message headers, which needs the W3C propagator registered here.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { createRequire } from 'node:module';

/** Bundled into the workflow code when tracing is on (the workflow side of Temporal's interceptors). */
export const WORKFLOW_TRACING_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface Tracing {
  tracer: Tracer;
  /** For the Temporal client: signals and starts carry the caller's span. */
  clientInterceptors: WorkflowClientInterceptor[];
  /** For the worker: activities continue the workflow's span, workflow spans leave through a sink. */
  activityInterceptors: ActivityInterceptorsFactory[];
  sinks: InjectedSinks<Record<string, never>>;
  /** Flushes what is buffered. */
  shutdown(): Promise<void>;
}

/**
 * Registers the process's tracer provider (global: the interceptors and the HTTP layer use the API's).
 * `spanProcessor` replaces the OTLP exporter (tests hand an in-memory one).
 */
export function startTracing({ serviceName, spanProcessor }: { serviceName: string; spanProcessor?: SpanProcessor }): Tracing {
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME?.trim() || serviceName });
  const processor = spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const tracer = trace.getTracer('trialcast');
  return {
    tracer,
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor({ tracer })],
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) } as unknown as InjectedSinks<Record<string, never>>,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
    },
  };
}
