// One soak worker process: serves `soak.echo` until SIGTERM (graceful close) or SIGKILL.
import { createTransport } from '@a2a-bus/core';
import { startEchoWorker } from './echo-worker.js';

const { url, namespace } = JSON.parse(process.argv[2] ?? '{}') as { url: string; namespace: string };
const transport = await createTransport(url);
const bus = await startEchoWorker(transport, namespace);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void (async () => {
    await bus.close();
    await transport.close();
    process.exit(0);
  })();
});
