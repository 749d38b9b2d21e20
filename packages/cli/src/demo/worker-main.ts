/**
 * One demo worker as an OS process of its own (`a2a-bus demo --kill-worker` on a real
 * backend): a transport and an agent bus serving one agent, started by the demo with
 * `fork`, told its configuration as a JSON argument; it says "ready" once its agent is
 * registered. The demo SIGKILLs it mid-run: nothing drains, nothing is acknowledged, and
 * what it held must finish on the other workers.
 */
import { AgentBus, createTransport } from '@a2a-bus/core';
import { stderrLogger } from '../options.js';
import { demoAgents, type DemoWorkerConfig } from './agents.js';

const config = JSON.parse(process.argv[2] ?? '{}') as DemoWorkerConfig;
const logger = stderrLogger(config.logLevel);
const agent = demoAgents(config.faults).find((a) => a.card.name === config.agent);
if (!agent) throw new Error(`no demo agent named ${config.agent}`);

const transport = await createTransport(config.url, { logger });
await transport.connect();
const bus = new AgentBus({ transport, ...config.bus, logger });
await bus.registerAgent(agent.card, agent.handlers());
process.send?.('ready');

const stop = async (): Promise<void> => {
  await bus.close();
  await transport.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('disconnect', () => void stop()); // the demo went away
