/**
 * The floor's ingest, for `transition.floor_with_ingest.*`: what receiving an event needs and nothing of the
 * product's. A bare node:http server reads the JSON body, stores it in one INSERT and signals its workflow,
 * answering once both are done (as /v1/track answers once the event is stored and its trial's workflow has it).
 * `node bench/floor/ingest.ts` with TEMPORAL_ADDRESS and DATABASE_URL; sends its port over IPC, stops on 'stop'.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { moveSignal } from './workflow.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
const client = new Client({ connection });

async function ingest(body: string): Promise<void> {
  const event = JSON.parse(body) as { workflowId: string; event: string };
  await pool.query('insert into bench_floor_events (workflow_id, body, received_at) values ($1, $2, now())', [event.workflowId, body]);
  await client.workflow.getHandle(event.workflowId).signal(moveSignal, 'found_value');
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    ingest(Buffer.concat(chunks).toString()).then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));

process.on('message', async (message) => {
  if (message !== 'stop') return;
  server.close();
  await pool.end();
  await connection.close();
  process.exit(0);
});
