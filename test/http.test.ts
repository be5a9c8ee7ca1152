import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './support/harness.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

describe('operational endpoints', () => {
  it('/healthz answers without touching dependencies', async () => {
    const response = await fetch(`${stack.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks PostgreSQL and Temporal', async () => {
    const response = await fetch(`${stack.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });

  it('/metrics serves Prometheus text with request counts', async () => {
    await fetch(`${stack.url}/healthz`);
    const response = await fetch(`${stack.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/trialcast_http_requests_total\{route="\/healthz",status="200"\} \d+/);
    expect(text).toMatch(/trialcast_process_cpu_seconds_total/);
  });

  it('an unknown route is a 404 naming it', async () => {
    const response = await fetch(`${stack.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no route GET /nope' });
  });

  it('GraphiQL is served to a browser', async () => {
    const response = await fetch(`${stack.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/graphiql/i);
  });
});

describe('graceful stop', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const other = await startTestStack({ role: 'api' });
    const { request } = await import('node:http');
    // In flight: connected and sent before the stop begins.
    const req = request(`${other.url}/readyz`);
    const connected = new Promise((resolve) => req.once('socket', (socket) => socket.once('connect', resolve)));
    const answered = new Promise<{ statusCode?: number }>((resolve) => req.once('response', resolve));
    req.end();
    await connected;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await other.stop();
    expect((await answered).statusCode).toBe(200);
    await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();
  });
});

describe('slow clients', () => {
  it('a client that never finishes its headers (slow-loris) is cut off within about 10 s', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(stack.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const opened = Date.now();
    socket.write('POST /v1/track HTTP/1.1\r\nHost: x\r\n');
    // A header line every 2 s, never the end of the headers.
    const drip = setInterval(() => socket.write(`X-Drip: ${Date.now()}\r\n`), 2000);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);
    const heldFor = Date.now() - opened;
    expect(heldFor).toBeGreaterThanOrEqual(9_000);
    expect(heldFor).toBeLessThan(15_000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  }, 30_000);
});
