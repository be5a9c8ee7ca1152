/**
 * Temporal's floor for a transition, measured in the same run against the same dev server: a
 * bare entity workflow (bench/floor/workflow.ts) doing only a transition's structural work, its
 * worker in a process of its own, signalled at the rate the product's first-attempt bench offers,
 * each move POSTed to the same kind of loopback receiver. The product's transitions are then
 * reported against it (delivery.first_attempt.*'s baselines).
 *
 * With `notice: 'ingest'`, the signals come the way the product's do, from an event received over HTTP: a
 * bare ingest process (bench/floor/ingest.ts) stores each event in one INSERT and signals its
 * workflow (`transition.floor_with_ingest.*`). The product's transition starts at an event
 * received too, and that request and its row are work the signal-only floor does not have.
 *
 * With `notice: 'update'`, each move comes as a workflow Update instead of a signal
 * (`transition.floor_by_update.*`, `BENCH_ONLY=notice-paths`): whether the server's share of a
 * transition is smaller when the notice is persisted with the task that handles it.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { FLOOR_TASK_QUEUE, moveSignal, moveUpdate } from '../floor/workflow.ts';
import { ask, cpuSecondsByProgram, cpuSince, idleCpu, nextMessage, percentile, waitForQuiet, type Product, type Result } from '../support.ts';
import { describeShape, historyShape, type HistoryShape } from '../history-shape.ts';

export interface Floor {
  results: Result[];
  perSecond: number;
  cpuMs: number;
  /** CPU a transition by program, for notes: "temporal 25.1, floor worker 20.3, …". */
  byProgram: string;
  /** The Temporal server's share of cpuMs. */
  temporalMs: number;
  /** What one bare transition asks of the server (from a history). */
  shape: HistoryShape;
  /** CPU ms a second by program just before the load (idleCpu). */
  idle: string;
}

/** How each move reaches the floor's workflow, with the figures' name and the words that describe it. */
const NOTICES = {
  signal: { name: 'transition.floor', words: 'a signal' },
  ingest: { name: 'transition.floor_with_ingest', words: 'an event POSTed to a bare ingest process that INSERTs it and signals' },
  update: { name: 'transition.floor_by_update', words: 'a workflow Update whose handler takes the notice' },
} as const;

export async function transitionFloor(
  { databaseUrl, temporalAddress, labels: productLabels }: Product,
  { notice = 'signal', after = false }: { notice?: keyof typeof NOTICES; after?: boolean } = {},
): Promise<Floor> {
  // `after`: the same floor measured again once the product's load is done (its figures under `.after_load`).
  const prefix = `${NOTICES[notice].name}${after ? '.after_load' : ''}`;
  const transitions = Number(process.env.BENCH_FIRST_ATTEMPT_TRIALS ?? 1500);
  const rate = Number(process.env.BENCH_FLOOR_RATE ?? 200);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('create table if not exists bench_floor_moves (workflow_id text, segment text, occurred_at timestamptz)');
  await db.query('create table if not exists bench_floor_events (workflow_id text, body jsonb, received_at timestamptz)');
  const receiver = fork(new URL('../delivery-receiver.ts', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await nextMessage<{ port: number }>(receiver, 'receiver port');
  const worker = fork(new URL('../floor/worker.ts', import.meta.url), [], {
    env: { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, RECEIVER_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await nextMessage<string>(worker, 'floor worker ready');
  const ingestProcess =
    notice === 'ingest'
      ? fork(new URL('../floor/ingest.ts', import.meta.url), [], {
          env: { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        })
      : null;
  const ingestUrl = ingestProcess && `http://127.0.0.1:${(await nextMessage<{ port: number }>(ingestProcess, 'floor ingest port')).port}/track`;
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  try {
    const labels = new Map([
      ...productLabels,
      [receiver.pid!, 'receiver'],
      [worker.pid!, 'floor worker'],
      ...(ingestProcess ? [[ingestProcess.pid!, 'floor ingest'] as const] : []),
    ]);
    // Entities first, as the product's trials are started before their aha events: each waits for its signal (and
    // stays open after its move, as a trial does, until the bench's dev server goes).
    const run = Date.now().toString(36);
    for (let index = 0; index < transitions; index += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, transitions - index) }, (_, offset) =>
          client.workflow.start('floorTransition', { workflowId: `floor:${run}:${index + offset}`, taskQueue: FLOOR_TASK_QUEUE }),
        ),
      );
    }
    // Their first workflow tasks run behind the starts (tens of seconds for 1,500 here): measured from when the floor's
    // worker is done with them, as the product's transitions are measured once every trial's start is recorded.
    await waitForQuiet(labels, 'floor worker');
    const idle = await idleCpu(labels);
    const before = cpuSecondsByProgram(labels);
    const started = Date.now();
    // How long the sender waits for each notice's answer. An Update answers once the task that took it completes, the
    // move done: those are not awaited at the pace of the offer.
    const answers: number[] = [];
    const answered = (sending: Promise<unknown>, at = Date.now()) => sending.then(() => void answers.push(Date.now() - at));
    const updates: Array<Promise<unknown>> = [];
    for (let sent = 0; sent < transitions;) {
      const due = Math.min(transitions, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
      const batch: Array<Promise<unknown>> = [];
      for (; sent < due; sent++) {
        const workflowId = `floor:${run}:${sent}`;
        if (notice === 'update') updates.push(answered(client.workflow.getHandle(workflowId).executeUpdate(moveUpdate, { args: ['found_value'] })));
        else
          batch.push(
            answered(
              ingestUrl
                ? fetch(ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflowId, event: 'Aha' }) })
                : client.workflow.getHandle(workflowId).signal(moveSignal, 'found_value'),
            ),
          );
      }
      await Promise.all(batch);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(updates);
    const deadline = Date.now() + 600_000;
    while ((await ask<{ received: number }>(receiver, 'progress')).received < transitions && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { arrivals } = await ask<{ arrivals: Array<{ at: number }> }>(receiver, 'report');
    const spent = cpuSince(labels, before);
    const seconds = (Math.max(...arrivals.map(({ at }) => at)) - started) / 1000;
    // The floor's own programs: not the receiver, nor the product's idle API and worker.
    const shares = spent
      .filter(({ program }) => !['receiver', 'api', 'worker'].includes(program))
      .map(({ program, seconds }) => ({ program, ms: (seconds * 1000) / arrivals.length }))
      .filter(({ ms }) => ms >= 0.1)
      .sort((a, b) => b.ms - a.ms);
    const cpuMs = shares.reduce((sum, { ms }) => sum + ms, 0);
    const byProgram = shares.map(({ program, ms }) => `${program} ${ms.toFixed(1)}`).join(', ');
    const perSecond = Math.round(arrivals.length / seconds);
    const shape = await historyShape(temporalAddress, `floor:${run}:0`);
    const lastShape = await historyShape(temporalAddress, `floor:${run}:${transitions - 1}`);
    const describe = `${arrivals.length} of ${transitions} bare transitions of running entity workflows (${NOTICES[notice].words}; a local activity with one INSERT; a search-attribute upsert; a local activity with one POST) offered at ${rate}/s, the same dev server, ${seconds.toFixed(1)} s`;
    return {
      perSecond,
      cpuMs,
      byProgram,
      temporalMs: shares.find(({ program }) => program === 'temporal')?.ms ?? 0,
      shape,
      idle,
      results: [
        { name: `${prefix}.transitions_per_s`, value: perSecond, unit: 'transitions/s', note: describe },
        {
          name: `${prefix}.answer_p50_ms`,
          value: percentile(answers, 50),
          unit: 'ms',
          note: `how long the sender waited for each notice's answer: p99 ${percentile(answers, 99)} ms`,
        },
        {
          name: `${prefix}.cpu_ms_per_transition`,
          value: Math.round(cpuMs * 10) / 10,
          unit: 'ms',
          note: `CPU by program: ${byProgram}; one transition's history: ${describeShape(shape)} (the last one offered: ${describeShape(lastShape)}); idle before the load, CPU ms a second: ${idle}`,
        },
      ],
    };
  } finally {
    await connection.close();
    worker.send('stop');
    await once(worker, 'exit');
    if (ingestProcess) {
      ingestProcess.send('stop');
      await once(ingestProcess, 'exit');
    }
    receiver.kill();
    await db.query('drop table if exists bench_floor_moves, bench_floor_events');
    await db.end();
  }
}

/**
 * The notice as a signal or as an Update, on the same server in the same run, alternating (signal, update, update,
 * signal) since this machine's speed drifts within minutes: each run's figures, then the Update's CPU a transition and
 * Temporal's share of it over the signal's (means of two runs each).
 */
export async function noticePaths(product: Product): Promise<Result[]> {
  const runs: Array<{ notice: 'signal' | 'update'; floor: Floor }> = [];
  for (const notice of ['signal', 'update', 'update', 'signal'] as const) runs.push({ notice, floor: await transitionFloor(product, { notice }) });
  const mean = (notice: 'signal' | 'update', pick: (floor: Floor) => number) => {
    const picked = runs.filter((run) => run.notice === notice).map((run) => pick(run.floor));
    return picked.reduce((sum, value) => sum + value, 0) / picked.length;
  };
  const ratio = (pick: (floor: Floor) => number, what: string, unit: string): Result => {
    const [update, signal] = [mean('update', pick), mean('signal', pick)];
    return {
      name: `transition.floor_by_update.${what}_ratio_to_signal`,
      value: Math.round((update / signal) * 100) / 100,
      unit: '×',
      baseline: 1,
      note: `${update.toFixed(1)} ${unit} by Update ÷ ${signal.toFixed(1)} by signal (means of two runs each, alternating)`,
    };
  };
  return [
    ...runs.flatMap(({ floor }, index) => floor.results.map((result) => ({ ...result, name: `${result.name}.run_${index + 1}` }))),
    ratio((floor) => floor.cpuMs, 'cpu_ms_per_transition', 'ms'),
    ratio((floor) => floor.temporalMs, 'temporal_cpu_ms_per_transition', 'ms'),
    ratio((floor) => floor.perSecond, 'transitions_per_s', 'transitions/s'),
  ];
}
