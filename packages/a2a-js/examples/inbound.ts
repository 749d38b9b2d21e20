import { AgentBus, createTransport, textOfParts } from '@a2a-bus/core';
import { A2AGateway, BUS_PROTOCOL_BINDING, BusTransportFactory } from '@a2a-bus/a2a-js';
import { SendMessageRequest, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';

const busUrl = process.env.A2A_BUS_URL ?? 'memory://inbound';
const transport = await createTransport(busUrl);

// An agent on the bus, as in the main README.
const agents = new AgentBus({ transport });
await agents.registerAgent(
  { name: 'shouter', description: 'Upper-cases text', version: '1.0.0', skills: [{ id: 'text.shout', name: 'Shout', tags: [] }] },
  { 'text.shout': (task) => textOfParts(task.message.parts).toUpperCase() },
);

// A standard A2A server in front of the bus: JSON-RPC + SSE, HTTP+JSON, agent card.
const gateway = new A2AGateway({ transport, busUrl });
const url = await gateway.listen(Number(process.env.PORT ?? 8080));

// Any A2A client reaches the agent over HTTP — here the official SDK client...
const request = () => SendMessageRequest.fromJSON({ message: { messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text: 'hello, a2a' }] } });
const http = await new ClientFactory().createFromUrl(url);
const viaHttp = (await http.sendMessage(request())) as Task;
console.log(http.transport.protocolName, viaHttp.artifacts[0]!.parts[0]!.content!.value); // JSONRPC HELLO, A2A

// ...or, with the bus transport added, over the bus itself (the card lists both).
const busTransport = new BusTransportFactory();
const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [busTransport], preferredTransports: [BUS_PROTOCOL_BINDING] });
const overBus = await new ClientFactory(options).createFromUrl(url);
const viaBus = (await overBus.sendMessage(request())) as Task;
const again = await overBus.getTask({ tenant: '', id: viaBus.id }); // read back from the log
console.log(overBus.transport.protocolName, again.artifacts[0]!.parts[0]!.content!.value); // urn:a2a-bus:binding:log:1.0 HELLO, A2A

await busTransport.close();
await gateway.close();
await agents.close();
await transport.close();
