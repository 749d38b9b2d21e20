import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentBus, createTransport, textOfParts, type Transport } from '@a2a-bus/core';
import { A2AGateway, BUS_PROTOCOL_BINDING, BusTransportFactory } from '@a2a-bus/a2a-js';
import { AgentCard, SendMessageRequest, TaskState } from '@a2a-js/sdk';
import { type Client, ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { type AgentExecutor, AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import express from 'express';
import { deleteBusTopics } from './bus-topics.js';
import { percentile } from './stats.js';
import type { BenchRow, BenchSuite } from './types.js';

const scenario = 'A2A SendMessage, JSON-RPC, 16 in flight';
const concurrency = 16;

/** The same work on both sides: upper-case the text into one artifact, complete the task. */
const upperExecutor: AgentExecutor = {
  execute: async (ctx, events) => {
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId };
    const text = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    const now = () => ({ timestamp: new Date().toISOString(), message: undefined });
    events.publish(
      AgentEvent.task({
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: { state: TaskState.TASK_STATE_SUBMITTED, ...now() },
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      }),
    );
    events.publish(
      AgentEvent.artifactUpdate({
        ...ids,
        artifact: {
          artifactId: 'result',
          name: 'result',
          description: '',
          parts: [{ content: { $case: 'text', value: text.toUpperCase() }, metadata: undefined, filename: '', mediaType: '' }],
          metadata: undefined,
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: undefined,
      }),
    );
    events.publish(AgentEvent.statusUpdate({ ...ids, status: { state: TaskState.TASK_STATE_COMPLETED, ...now() }, metadata: undefined }));
    events.finished();
  },
  cancelTask: async () => {},
};

async function plainSdkServer(): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const card = AgentCard.fromJSON({
    name: 'upper',
    version: '1.0.0',
    supportedInterfaces: [{ url: `${url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    capabilities: {},
    skills: [{ id: 'text.upper', name: 'upper', tags: [] }],
  });
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), upperExecutor);
  app.get('/.well-known/agent-card.json', (_req, res) => void res.json(AgentCard.toJSON(card)));
  app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** `messages` SendMessage calls, `concurrency` at a time; latency per call. */
async function drive(client: Client, messages: number): Promise<{ seconds: number; latencies: number[] }> {
  const request = (n: number) => SendMessageRequest.fromJSON({ message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: `message ${n}` }] } });
  for (let i = 0; i < 50; i++) await client.sendMessage(request(i)); // warm-up
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < messages) {
        const n = next++;
        const t0 = performance.now();
        await client.sendMessage(request(n));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
}

function row(backend: string, client: string, messages: number, run: { seconds: number; latencies: number[] }, note?: string): BenchRow {
  return {
    backend,
    client,
    scenario,
    messages,
    seconds: run.seconds,
    msgsPerSec: messages / run.seconds,
    p50Ms: percentile(run.latencies, 50),
    p99Ms: percentile(run.latencies, 99),
    ...(note ? { note } : {}),
  };
}

async function busSide(backend: string, url: string, messages: number, progress: (line: string) => void): Promise<BenchRow[]> {
  const namespace = `bench-gw-${randomUUID().slice(0, 8)}`;
  const transports: Transport[] = [];
  const open = async () => {
    const transport = await createTransport(url);
    transports.push(transport);
    return transport;
  };
  const worker = new AgentBus({ transport: await open(), namespace, maxInFlight: 64 });
  await worker.registerAgent(
    { name: 'upper', version: '1.0.0', skills: [{ id: 'text.upper', name: 'upper', tags: [] }] },
    { 'text.upper': (ctx) => textOfParts(ctx.message.parts).toUpperCase() },
  );
  const gateway = new A2AGateway({ transport: await open(), namespace, busUrl: url });
  const busTransport = new BusTransportFactory({ openTransport: open });
  try {
    const base = await gateway.listen(0);
    progress(`${backend}: gateway at ${base}`);
    const viaGateway = await drive(await new ClientFactory().createFromUrl(base), messages);
    const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [busTransport], preferredTransports: [BUS_PROTOCOL_BINDING] });
    const viaBus = await drive(await new ClientFactory(options).createFromUrl(base), messages);
    return [
      row(backend, 'a2a-bus', messages, viaGateway, 'SDK client → gateway → bus → agent'),
      { ...row(backend, 'a2a-bus', messages, viaBus, 'SDK client → bus binding → agent (no HTTP)'), scenario: 'A2A SendMessage, bus binding, 16 in flight' },
    ];
  } finally {
    await busTransport.close();
    await gateway.close();
    await worker.close();
    await deleteBusTopics(transports[0]!, namespace, ['text.upper']);
    for (const transport of transports) await transport.close();
  }
}

/** `a2a-bus bench gateway`: the gateway beside a plain @a2a-js/sdk HTTP server doing the same work, on memory and Kafka. */
export const suite: BenchSuite = async (progress) => {
  const rows: BenchRow[] = [];
  const targets: Array<[string, string, number]> = [
    ['memory', 'memory://bench-gateway', 3_000],
    ['kafka', `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`, 1_500],
  ];
  for (const [backend, url, messages] of targets) {
    const plain = await plainSdkServer();
    try {
      progress(`${backend}: plain @a2a-js/sdk server, ${messages} SendMessage`);
      rows.push(
        row(
          backend,
          '@a2a-js/sdk server',
          messages,
          await drive(await new ClientFactory().createFromUrl(plain.url), messages),
          'SDK client → SDK server (in-memory store)',
        ),
      );
    } finally {
      await plain.close();
    }
    rows.push(...(await busSide(backend, url, messages, progress)));
  }
  return rows;
};
