// A process that starts AgentBus instances, dispatches once on each, says "ready", then waits
// to be killed (SIGKILL): what a crashed deploy leaves behind. Run by restart-suite.ts.
import { AgentBus, type Transport } from '@a2a-bus/core';

interface ChildConfig {
  readonly backend: 'kafka' | 'redis-streams' | 'nats';
  readonly options: Record<string, unknown>;
  readonly namespace: string;
  readonly buses: number;
  readonly agentTtlMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;

async function createTransport(): Promise<Transport> {
  if (config.backend === 'kafka') return (await import('@a2a-bus/kafka')).createKafkaTransport(config.options as never);
  if (config.backend === 'redis-streams') return (await import('@a2a-bus/redis-streams')).createRedisStreamsTransport(config.options as never);
  return (await import('@a2a-bus/nats')).createNatsTransport(config.options as never);
}

const transport = await createTransport();
const buses: AgentBus[] = [];
for (let i = 0; i < config.buses; i += 1) {
  const bus = new AgentBus({ transport, namespace: config.namespace, agentTtlMs: config.agentTtlMs });
  await bus.start();
  await bus.dispatch('echo', `from a process about to die #${i}`, { timeoutMs: 30_000 });
  buses.push(bus);
}
process.stdout.write('ready\n');
setInterval(() => {}, 60_000); // held open until killed
