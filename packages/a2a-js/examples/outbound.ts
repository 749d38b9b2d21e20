import { AgentBus, createTransport, textOfParts } from '@a2a-bus/core';
import { registerRemoteAgent } from '@a2a-bus/a2a-js';
import { AgentCard } from '@a2a-js/sdk';
import { type AgentExecutor, AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';

// Any A2A agent served over HTTP: here a plain @a2a-js/sdk server answering with a Message.
const port = Number(process.env.PORT ?? 9090);
const card = AgentCard.fromJSON({
  name: 'greeter',
  description: 'Greets',
  version: '1.0.0',
  supportedInterfaces: [{ url: `http://127.0.0.1:${port}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
  capabilities: {},
  skills: [{ id: 'greet', name: 'Greet', description: 'Says hello', tags: [] }],
});
const greeter: AgentExecutor = {
  execute: async (ctx, events) => {
    const name = ctx.userMessage.parts.map((p) => p.content?.value).join('');
    events.publish(
      AgentEvent.message({
        ...ctx.userMessage,
        messageId: crypto.randomUUID(),
        role: 2,
        parts: [{ content: { $case: 'text', value: `hello, ${name}` }, metadata: undefined, filename: '', mediaType: '' }],
      }),
    );
    events.finished();
  },
  cancelTask: async () => {},
};
const app = express();
app.get('/.well-known/agent-card.json', (_req, res) => void res.json(AgentCard.toJSON(card)));
app.use(
  '/a2a',
  jsonRpcHandler({ requestHandler: new DefaultRequestHandler(card, new InMemoryTaskStore(), greeter), userBuilder: UserBuilder.noAuthentication }),
);
const server = app.listen(port, '127.0.0.1');

// On the bus, it becomes one more agent: dispatch by skill, with retries, timeouts and audit.
const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://outbound');
const bus = new AgentBus({ transport });
await registerRemoteAgent(bus, `http://127.0.0.1:${port}`, { timeoutMs: 5_000 });
const task = await bus.dispatch('greet', 'bus', { workflowId: 'greeting-2' });
console.log(task.status.state, textOfParts(task.status.message!.parts)); // TASK_STATE_COMPLETED hello, bus
console.log((await bus.audit('greeting-2')).length > 0 ? 'audited' : 'not audited'); // audited

await bus.close();
await transport.close();
server.close();
