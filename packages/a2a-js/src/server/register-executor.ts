import type { A2AAgentCard, AgentBus } from '@a2a-bus/core';
import type { AgentExecutor } from '@a2a-js/sdk/server';
import { executorHandler } from './executor-handler.js';

/**
 * Serves every skill of `card` on the bus with one `@a2a-js/sdk` `AgentExecutor` — the same
 * executor an SDK HTTP server would run. Start more processes with the same card to share
 * the work; retries, dead letters and the audit trail are the bus's.
 */
export async function registerExecutor(bus: AgentBus, card: A2AAgentCard, executor: AgentExecutor): Promise<void> {
  const handler = executorHandler(executor);
  await bus.registerAgent(card, Object.fromEntries(card.skills.map((skill) => [skill.id, handler])));
}
