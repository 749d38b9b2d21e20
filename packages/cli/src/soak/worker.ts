// One soak worker process: serves `soak.echo` until SIGTERM (graceful close) or SIGKILL.
import { AgentBus, createTransport, textOfParts } from '@a2a-bus/core';

const { url, namespace } = JSON.parse(process.argv[2] ?? '{}') as { url: string; namespace: string };
const transport = await createTransport(url);
const bus = new AgentBus({ transport, namespace, agentTtlMs: 3_000 });
await bus.registerAgent(
  { name: 'soak-echo', description: 'echoes after a short wait', version: '1.0.0', skills: [{ id: 'soak.echo', name: 'echo', tags: [] }] },
  {
    'soak.echo': async (task) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return textOfParts(task.message.parts);
    },
  },
);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void (async () => {
    await bus.close();
    await transport.close();
    process.exit(0);
  })();
});
