import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentBus, silentLogger, type A2AAgentCard, type Logger, type Transport } from '@a2a-bus/core';
import { parseOptions } from '@a2a-bus/core/adapter';
import { A2A_PROTOCOL_VERSION, type AgentCard } from '@a2a-js/sdk';
import { UserBuilder, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express, { type Express } from 'express';
import { z } from 'zod';
import { BUS_PROTOCOL_BINDING, BUS_PROTOCOL_VERSION, formatBusUrl } from '../binding.js';
import { BusA2AService } from '../bus-a2a-service.js';
import { codec } from '../codec.js';
import { TaskLog } from '../task-log.js';
import { authGuard, securityOf, userBuilder, type GatewayAuth } from './auth.js';
import { jsonRpcGuards, restGuards } from './body-guards.js';
import { BusRequestHandler } from './bus-request-handler.js';
import { trackDisconnect } from './disconnect.js';

const gatewayOptionsSchema = z.object({
  transport: z.custom<Transport>((v) => typeof v === 'object' && v !== null && 'subscribe' in v, 'a Transport'),
  /** The runtime namespace whose agents the gateway fronts. */
  namespace: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('a2a'),
  /** The aggregated card's name and description. */
  name: z.string().min(1).default('a2a-bus gateway'),
  description: z.string().default('A2A gateway in front of the agents on an a2a-bus; its skills are the live capabilities'),
  version: z.string().default('1.0.0'),
  /** Base URL clients reach this gateway at (behind a load balancer: the balancer's). Default: the address `listen` bound. */
  publicUrl: z.url().optional(),
  /** Also advertise the bus binding, at this transport URL (e.g. `kafka://broker:9092`). */
  busUrl: z.string().min(1).optional(),
  /** Largest request body accepted, bytes; larger ones get HTTP 413. */
  bodyLimitBytes: z.int().min(1_024).default(1_048_576),
  auth: z.custom<GatewayAuth>((v) => typeof v === 'object' && v !== null, 'bearerTokens and/or apiKeys').optional(),
  /** Request headers forwarded to agents as service parameters, besides every `A2A-*` one (lower-case names). */
  forwardHeaders: z.array(z.string().min(1)).default([]),
  /** Dispatch timeout for SendMessage (default: the bus's 60 s). */
  timeoutMs: z.int().min(1).optional(),
  /** How long a read waits for a task another instance dispatched to reach this one's view. */
  lookupWaitMs: z.int().min(0).default(1_000),
  cancelWaitMs: z.int().min(1).default(10_000),
  /** Accept A2A v0.3 JSON-RPC clients too (the SDK's legacyCompat; a missing A2A-Version then means 0.3). */
  acceptV03: z.boolean().default(false),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'a logger').optional(),
});

export type A2AGatewayOptions = z.input<typeof gatewayOptionsSchema>;

/**
 * A standard A2A server in front of the bus: JSON-RPC 2.0 (with SSE streaming) at
 * `/a2a/jsonrpc`, HTTP+JSON at `/a2a/rest`, and one aggregated agent card at
 * `/.well-known/agent-card.json` whose skills are the capabilities live on the bus now.
 * Any number of gateways can run side by side: tasks are read from the workflow log,
 * so a stream or a GetTask may land on any of them.
 */
export class A2AGateway {
  readonly app: Express;
  readonly bus: AgentBus;
  readonly taskLog: TaskLog;
  private readonly options: z.output<typeof gatewayOptionsSchema>;
  private readonly logger: Logger;
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(options: A2AGatewayOptions) {
    this.options = parseOptions('gateway', gatewayOptionsSchema, options);
    const { transport, namespace } = this.options;
    this.logger = (this.options.logger ?? silentLogger).child({ component: 'a2a-gateway' });
    this.bus = new AgentBus({ transport, namespace, ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}), logger: this.logger });
    this.taskLog = new TaskLog({ transport, namespace, logger: this.logger });
    const service = new BusA2AService({
      bus: this.bus,
      taskLog: this.taskLog,
      lookupWaitMs: this.options.lookupWaitMs,
      cancelWaitMs: this.options.cancelWaitMs,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    const forwarded = new Set(this.options.forwardHeaders.map((h) => h.toLowerCase()));
    // The SDK's handlers read the card on every request (version checks): rebuilt at most once a second.
    let cached: { card: AgentCard; at: number } | undefined;
    const sdkCard = async (): Promise<AgentCard> => {
      if (!cached || Date.now() - cached.at > 1_000) cached = { card: codec.cardFromWire(this.card()), at: Date.now() };
      return cached.card;
    };
    const handler = new BusRequestHandler(service, sdkCard, (name) => name.startsWith('a2a-') || forwarded.has(name));
    const users = userBuilder(UserBuilder.noAuthentication);
    const legacyCompat = { enabled: this.options.acceptV03 };
    const limit = this.options.bodyLimitBytes;

    const app = express();
    app.disable('x-powered-by');
    app.get('/.well-known/agent-card.json', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache'); // the skills change as agents come and go
      res.type('application/a2a+json').send(JSON.stringify(this.card()));
    });
    app.use(
      '/a2a/jsonrpc',
      trackDisconnect,
      authGuard(this.options.auth),
      ...jsonRpcGuards(limit),
      jsonRpcHandler({ requestHandler: handler, userBuilder: users, legacyCompat }),
    );
    app.use(
      '/a2a/rest',
      trackDisconnect,
      authGuard(this.options.auth),
      ...restGuards(limit),
      restHandler({ requestHandler: handler, userBuilder: users, legacyCompat }),
    );
    this.app = app;
  }

  /** Starts the bus side (registry, task view). `listen` calls it. */
  async start(): Promise<void> {
    await this.bus.start();
    await this.taskLog.start();
  }

  /** Listens on `port` (0: any free one) and resolves with the base URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await this.start();
    const server = this.app.listen(port, host);
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    this.server = server;
    const address = server.address() as AddressInfo;
    this.baseUrl = this.options.publicUrl ?? `http://${host}:${address.port}`;
    this.logger.info({ url: this.baseUrl }, 'a2a gateway listening');
    return this.baseUrl;
  }

  /** The aggregated agent card (A2A v1.0 wire form), built from the live registry. */
  card(): A2AAgentCard {
    const base = (this.options.publicUrl ?? this.baseUrl ?? 'http://127.0.0.1').replace(/\/+$/, '');
    const versions = this.options.acceptV03 ? [A2A_PROTOCOL_VERSION, '0.3'] : [A2A_PROTOCOL_VERSION];
    const interfaces: unknown[] = versions.flatMap((protocolVersion) => [
      { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion },
      { url: `${base}/a2a/rest`, protocolBinding: 'HTTP+JSON', protocolVersion },
    ]);
    if (this.options.busUrl) {
      const url = formatBusUrl({ transportUrl: this.options.busUrl, namespace: this.options.namespace });
      interfaces.push({ url, protocolBinding: BUS_PROTOCOL_BINDING, protocolVersion: BUS_PROTOCOL_VERSION });
    }
    const skills = new Map<string, A2AAgentCard['skills'][number]>();
    for (const agent of this.bus.agents()) {
      for (const skill of agent.card.skills)
        if (!skills.has(skill.id)) skills.set(skill.id, { ...skill, tags: [...(skill.tags ?? []), `agent:${agent.card.name}`] });
    }
    return {
      name: this.options.name,
      description: this.options.description,
      version: this.options.version,
      supportedInterfaces: interfaces,
      capabilities: { streaming: true, pushNotifications: false },
      defaultInputModes: ['text/plain', 'application/json'],
      defaultOutputModes: ['text/plain', 'application/json'],
      skills: [...skills.values()].sort((a, b) => a.id.localeCompare(b.id)),
      ...securityOf(this.options.auth),
    };
  }

  /** Stops listening (open streams end), then the task view and the bus. Does not close the transport. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.taskLog.close();
    await this.bus.close();
  }
}

export function createA2AGateway(options: A2AGatewayOptions): A2AGateway {
  return new A2AGateway(options);
}
