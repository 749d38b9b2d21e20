import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { textOfParts, type A2AAgentCard, type TaskHandler } from '@a2a-bus/core';
import { AgentCard, Message, SendMessageRequest, TaskState, type StreamResponse } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor, type ExecutionEventBusManager, type TaskStore } from '@a2a-js/sdk/server';
import { UserBuilder, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express from 'express';
import { listenInRange } from './helpers.js';

export function busCard(name: string, ...skills: string[]): A2AAgentCard {
  return { name, description: `${name} agent`, version: '1.0.0', skills: skills.map((id) => ({ id, name: id, tags: [] })) };
}

/** The bus agents the suites talk to. */
export function busHandlers(stepMs: number): Record<string, TaskHandler> {
  return {
    /** Echoes the text back, with the caller's identity and A2A version as it reached the worker. */
    echo: (ctx) => `echo:${textOfParts(ctx.message.parts)}|caller=${ctx.headers['a2a.caller'] ?? '-'}|version=${ctx.headers['a2a.param.a2a-version'] ?? '-'}`,
    /** Streams `n` artifacts (the text is n), one every stepMs. */
    countdown: async (ctx) => {
      const n = Number(textOfParts(ctx.message.parts));
      for (let i = 1; i <= n; i++) {
        if (ctx.signal.aborted) return;
        await ctx.artifact({ artifactId: `part-${i}`, parts: [{ text: `#${i}` }] });
        await new Promise((resolve) => setTimeout(resolve, stepMs));
      }
      return { message: { messageId: randomUUID(), role: 'ROLE_AGENT', parts: [{ text: `counted ${n}` }] } };
    },
    /** Holds the task until it is canceled (or 60 s pass). */
    hold: async (ctx) => {
      await ctx.status('holding');
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve(); // canceled while the status was being written
        const timer = setTimeout(resolve, 60_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

export const agentCards = { echo: busCard('echoer', 'echo'), countdown: busCard('counter', 'countdown'), hold: busCard('holder', 'hold') };

/**
 * An ordinary `@a2a-js/sdk` AgentExecutor, written the way the SDK's samples write them:
 * task first, working status, one artifact per word, final status. "fail" fails the task,
 * "slow" works until canceled.
 */
export class WordsExecutor implements AgentExecutor {
  /** Tasks `cancelTask` was called for. */
  readonly canceled = new Set<string>();
  private readonly wordMs: number;

  /** `wordMs`: a pause after each word's artifact (0: all at once). */
  constructor(wordMs = 0) {
    this.wordMs = wordMs;
  }

  async execute(ctx: Parameters<AgentExecutor['execute']>[0], bus: Parameters<AgentExecutor['execute']>[1]): Promise<void> {
    const text = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    const ids = { taskId: ctx.taskId, contextId: ctx.contextId };
    const status = (state: TaskState, reply?: string) => ({
      state,
      timestamp: new Date().toISOString(),
      message: reply ? Message.fromJSON({ messageId: randomUUID(), role: 'ROLE_AGENT', parts: [{ text: reply }], ...ids }) : undefined,
    });
    if (!ctx.task)
      bus.publish(
        AgentEvent.task({
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: status(TaskState.TASK_STATE_SUBMITTED),
          artifacts: [],
          history: [ctx.userMessage],
          metadata: undefined,
        }),
      );
    bus.publish(
      AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_WORKING, `reading ${text.split(' ').length} words`), metadata: undefined }),
    );
    if (text === 'fail') {
      bus.publish(AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_FAILED, 'asked to fail'), metadata: undefined }));
      bus.finished();
      return;
    }
    if (text === 'slow') {
      for (let i = 0; i < 600 && !this.canceled.has(ctx.taskId); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      bus.publish(AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_CANCELED, 'stopped'), metadata: undefined }));
      bus.finished();
      return;
    }
    for (const [i, word] of text.split(' ').entries()) {
      bus.publish(
        AgentEvent.artifactUpdate({
          ...ids,
          artifact: {
            artifactId: `word-${i + 1}`,
            name: 'word',
            description: '',
            parts: [{ content: { $case: 'text', value: word.toUpperCase() }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
          metadata: undefined,
        }),
      );
      if (this.wordMs) await new Promise((resolve) => setTimeout(resolve, this.wordMs));
    }
    bus.publish(AgentEvent.statusUpdate({ ...ids, status: status(TaskState.TASK_STATE_COMPLETED, 'done'), metadata: undefined }));
    bus.finished();
  }

  async cancelTask(taskId: string): Promise<void> {
    this.canceled.add(taskId);
  }
}

export const wordsCard = busCard('words', 'words.upper');

/** A plain SDK HTTP server (JSON-RPC + REST) running an executor: the remote agent, and the bench's baseline. */
export async function startSdkServer(
  executor: AgentExecutor,
  name = 'words',
  taskStore: TaskStore = new InMemoryTaskStore(),
  eventBusManager?: ExecutionEventBusManager,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const app = express();
  let url = '';
  const card = () =>
    AgentCard.fromJSON({
      name,
      description: 'an @a2a-js/sdk server',
      version: '1.0.0',
      supportedInterfaces: [
        { url: `${url}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
        { url: `${url}/a2a/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
      ],
      capabilities: { streaming: true },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [{ id: `${name}.upper`, name: 'upper', description: 'upper-cases words', tags: [] }],
    });
  const handler = new DefaultRequestHandler(card(), taskStore, executor, eventBusManager);
  const proxy = new Proxy(handler, { get: (target, prop, receiver) => (prop === 'getAgentCard' ? async () => card() : Reflect.get(target, prop, receiver)) });
  app.get('/.well-known/agent-card.json', (_req, res) => void res.json(AgentCard.toJSON(card())));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: proxy, userBuilder: UserBuilder.noAuthentication }));
  app.use('/a2a/rest', restHandler({ requestHandler: proxy, userBuilder: UserBuilder.noAuthentication }));
  const { server, port } = await listenInRange((p) => app.listen(p, '127.0.0.1'));
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An SDK SendMessageRequest with one text part. */
export function sendRequest(text: string, extra: { skill?: string; returnImmediately?: boolean; contextId?: string } = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...(extra.contextId ? { contextId: extra.contextId } : {}) },
    ...(extra.returnImmediately ? { configuration: { returnImmediately: true } } : {}),
    ...(extra.skill ? { metadata: { 'a2a-bus/skill': extra.skill } } : {}),
  });
}

/** A stream event in a short readable form: `task:SUBMITTED`, `status:WORKING`, `artifact:part-1`. */
export function describeEvent(event: StreamResponse): string {
  const payload = event.payload;
  if (!payload) return 'empty';
  switch (payload.$case) {
    case 'task':
      return `task:${TaskState[payload.value.status?.state ?? 0]!.replace('TASK_STATE_', '')}`;
    case 'statusUpdate':
      return `status:${TaskState[payload.value.status?.state ?? 0]!.replace('TASK_STATE_', '')}`;
    case 'artifactUpdate':
      return `artifact:${payload.value.artifact?.artifactId}`;
    case 'message':
      return 'message';
  }
}

export function textOf(parts: Array<{ content?: { $case: string; value: unknown } }>): string {
  return parts.map((p) => (p.content?.$case === 'text' ? String(p.content.value) : '')).join('');
}
