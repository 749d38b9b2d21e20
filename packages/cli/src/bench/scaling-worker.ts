/**
 * One worker process of `pnpm bench --scaling`: a group member that handles messages and
 * reports to its parent (IPC): `ready` once subscribed, `{ handled }` every 50 ms, and its
 * publish→handler latency samples (ms, clocks shared via performance.timeOrigin) on `report`.
 * argv: JSON { backend, partitions, namespace, topic, maxInFlight }
 */
import { scalingTransport } from './scaling-transport.js';

interface WorkerConfig {
  backend: string;
  partitions: number;
  namespace: string;
  topic: string;
  maxInFlight: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const send = (message: unknown): void => void process.send?.(message);
const transport = await scalingTransport(config.backend, config.partitions, config.namespace);
const samples: number[] = [];
let handled = 0;
await transport.subscribe(
  config.topic,
  (d) => {
    handled += 1;
    samples.push(performance.timeOrigin + performance.now() - Number(d.envelope.headers?.sent));
  },
  { group: 'scale', maxInFlight: config.maxInFlight },
);
const ticker = setInterval(() => send({ handled }), 50);
send({ ready: true });
process.on('message', (message: { type: string }) => {
  if (message.type === 'report') send({ samples, handled });
  if (message.type === 'stop') {
    clearInterval(ticker);
    void transport.close({ drainTimeoutMs: 500 }).finally(() => process.exit(0));
  }
});
