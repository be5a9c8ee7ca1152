/**
 * The webhook receiver of the delivery bench, in its own process so that answering 30,000
 * requests does not share the worker's event loop (a customer's receiver is elsewhere too).
 * Records, for each found_value delivery, when it arrived and how long after the change.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const arrivals: Array<{ at: number; latency: number }> = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const payload = JSON.parse(body) as { new_segment?: string; occurred_at?: string; text?: string };
    // A Slack message carries no time of its own: counted by its words, its latency unknown.
    if (payload.new_segment === 'found_value') arrivals.push({ at: Date.now(), latency: Date.now() - Date.parse(payload.occurred_at!) });
    else if (payload.text?.includes('→ found value')) arrivals.push({ at: Date.now(), latency: Number.NaN });
    res.writeHead(204).end();
  });
});
receiver.listen(0, '127.0.0.1', () => process.send!({ port: (receiver.address() as AddressInfo).port }));

process.on('message', (message: 'progress' | 'report') => {
  if (message === 'progress') return process.send!({ received: arrivals.length });
  receiver.close();
  process.send!({ arrivals }, () => process.exit(0));
});
