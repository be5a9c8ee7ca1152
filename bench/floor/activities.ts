/** The floor workflow's two local activities: one INSERT, one POST to the bench's receiver. */
import { request } from 'node:http';
import type pg from 'pg';

export function createFloorActivities(pool: pg.Pool, receiverPort: number) {
  return {
    async recordMove(workflowId: string, segment: string, occurredAt: string): Promise<void> {
      await pool.query('insert into bench_floor_moves (workflow_id, segment, occurred_at) values ($1, $2, $3)', [workflowId, segment, occurredAt]);
    },
    async postMove(workflowId: string, segment: string, occurredAt: string): Promise<void> {
      const body = JSON.stringify({ workflow_id: workflowId, new_segment: segment, occurred_at: occurredAt });
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: receiverPort,
            method: 'POST',
            path: '/floor',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => res.resume().on('end', resolve),
        );
        req.once('error', reject);
        req.end(body);
      });
    },
  };
}
