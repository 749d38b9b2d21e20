import { AgentBus, createTransport, type Logger } from '@a2a-bus/core';
import { A2AGateway } from '@a2a-bus/a2a-js';
import { classifyCard, classifyHandler, extractCard, extractHandler, summarizeCard, summarizeHandler } from './demo/agents.js';

export interface GatewayCommand {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly print: (line: string) => void;
}

/**
 * `a2a-bus gateway`: the demo's three agents on the bus, and an A2A HTTP gateway in front
 * of them, until interrupted. Any A2A client can talk to it (JSON-RPC, SSE, HTTP+JSON).
 */
export async function runGateway(command: GatewayCommand): Promise<() => Promise<void>> {
  const transport = await createTransport(command.url);
  const agents = new AgentBus({ transport, namespace: 'demo-gateway', logger: command.logger });
  await agents.registerAgent(extractCard, { 'doc.extract': extractHandler() });
  await agents.registerAgent(summarizeCard, { 'doc.summarize': summarizeHandler({ transientEvery: 0 }) });
  await agents.registerAgent(classifyCard, { 'doc.classify': classifyHandler() });
  const gateway = new A2AGateway({ transport, namespace: 'demo-gateway', busUrl: command.url, name: 'a2a-bus demo', logger: command.logger });
  const base = await gateway.listen(command.port, command.host);
  command.print(`A2A gateway on ${base} in front of ${agents.agents().length} agents (${command.url})`);
  command.print(`  agent card  ${base}/.well-known/agent-card.json`);
  command.print(`  JSON-RPC    ${base}/a2a/jsonrpc    HTTP+JSON  ${base}/a2a/rest`);
  command.print(
    `  skills      ${gateway
      .card()
      .skills.map((s) => s.id)
      .join(', ')}  (pick one with metadata "a2a-bus/skill")`,
  );
  return async () => {
    await gateway.close();
    await agents.close();
    await transport.close();
  };
}
