/**
 * OpenTelemetry tracing (issue 29, item 2): one `/v1/track` that moves a trial yields one connected trace, from the
 * request's span through the signal, the workflow's handling of it, the recording activity and the first attempt's
 * activity, ending in the webhook attempt's span with its endpoint and outcome. The OpenTelemetry SDK's in-memory
 * exporter receives the spans; the workflow bundle is made with tracing's interceptors, as the runtime makes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../src/infra/tracing.ts';
import { bundleWorkflows } from '../src/temporal/worker.ts';
import { startRuntime, type Runtime } from '../src/runtime.ts';
import { createLogger } from '../src/logger.ts';
import { graphqlRequest } from './support/graphql-client.ts';
import { eventually, testConfig } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, START_TRIAL } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let runtime: Runtime;
let admin: string;
const receiver = new Receiver();

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'trialcast-test', spanProcessor: new SimpleSpanProcessor(exporter) });
  const config = await testConfig();
  admin = config.adminToken!;
  runtime = await startRuntime({
    role: 'all',
    config,
    logger: createLogger('silent'),
    workflowBundle: await bundleWorkflows({ tracing: true }),
    tracing,
  });
  await receiver.start();
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await tracing?.shutdown();
  await receiver.stop();
});

const gql = <T = any>(query: string, variables?: Record<string, unknown>) => graphqlRequest<T>(runtime.apiUrl!, query, variables, admin);
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('tracing', () => {
  it('follows one /v1/track that moves a trial to the webhook attempt, in one connected trace', async () => {
    const app = (await gql(CREATE_APP, { name: 'traced' })).data.createApp;
    const saved = await gql(`mutation($i: UpdateSegmentSettingsInput!) { updateSegmentSettings(input: $i) { errors { message } } }`, {
      i: { appId: app.app.id, ahaEvents: ['Report Viewed'] },
    });
    expect(saved.data.updateSegmentSettings.errors).toEqual([]);
    const endpoint = (await gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: receiver.url } })).data.createWebhookEndpoint.endpoint;
    const started = await gql(START_TRIAL, { input: { appId: app.app.id, userId: 'traced-user', email: 'traced@example.com' } });
    expect(started.data.startTrial.errors).toEqual([]);
    await eventually(async () => (receiver.requests.length === 1 ? true : undefined), 20_000);
    // The start's attempt span ends just after the receiver has its request: wait for it, so the reset clears it.
    await eventually(async () => (exporter.getFinishedSpans().some((span) => span.name === 'webhook attempt') ? true : undefined), 20_000);
    exporter.reset();

    const answer = await fetch(`${runtime.apiUrl}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${app.writeKey}:`).toString('base64')}` },
      body: JSON.stringify({ userId: 'traced-user', event: 'Report Viewed' }),
    });
    expect(answer.status).toBe(200);

    const attempt = await eventually(async () => exporter.getFinishedSpans().find((span) => span.name === 'webhook attempt'), 20_000);
    expect(receiver.requests).toHaveLength(2);
    expect(attempt.attributes).toMatchObject({ 'trialcast.endpoint.id': endpoint.id, 'trialcast.attempt.outcome': '2xx', 'http.response.status_code': 200 });

    // Every span of the attempt's trace has its parent in the trace, up to one root: the ingest request. (A parent
    // ends after its child: the activity's span after the attempt's, so the trace is read once its spans are all in.)
    const traceOf = () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === attempt.spanContext().traceId);
    const rootsOf = (spans: ReadableSpan[]) => {
      const ids = new Set(spans.map(idOf));
      return spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId));
    };
    const trace = await eventually(async () => {
      const spans = traceOf();
      return rootsOf(spans).length === 1 && spans.some((span) => span.name === 'RunActivity:recordSegmentChange') ? spans : undefined;
    }, 20_000).catch(() => traceOf());
    const byId = new Map(trace.map((span) => [idOf(span), span]));
    const roots = rootsOf(trace);
    expect(roots.map((span) => span.name)).toEqual(['POST /v1/track']);
    expect(roots[0]!.attributes['http.response.status_code']).toBe(200);

    // The attempt's ancestry, from the request down.
    const ancestry: string[] = [];
    for (let span: ReadableSpan | undefined = attempt; span; span = span.parentSpanId ? byId.get(span.parentSpanId) : undefined) ancestry.unshift(span.name);
    expect(ancestry[0]).toBe('POST /v1/track');
    expect(ancestry).toContain('SignalWorkflow:activity');
    expect(ancestry).toContain('HandleSignal:activity');
    expect(ancestry).toContain('RunActivity:sendFirstAttempts');
    expect(ancestry.at(-1)).toBe('webhook attempt');
    // The move's recording is in the same trace.
    expect(trace.map((span) => span.name)).toContain('RunActivity:recordSegmentChange');
  }, 90_000);
});
