import { randomUUID } from 'node:crypto';
import { AgentBus, type Transport } from '@a2a-bus/core';
import { ClientFactory, ClientFactoryOptions, type Client } from '@a2a-js/sdk/client';
import { A2AGateway, type A2AGatewayOptions, BusTransportFactory, codec, registerExecutor, withBusInterface } from '../../src/index.js';
import { agentCards, busHandlers, WordsExecutor, wordsCard } from './fixtures.js';
import { inRange } from './helpers.js';

export interface InteropSuiteOptions {
  readonly name: string;
  /** A new client per call: one call stands for one process. */
  readonly createTransport: () => Transport | Promise<Transport>;
  /** The transport URL the bus interface advertises (the suite's transports are built by `createTransport`). */
  readonly transportUrl: string;
  readonly timeoutMultiplier?: number;
}

/** Everything one suite run shares: a worker process, two gateways, SDK clients. */
export class InteropWorld {
  readonly namespace = `a2ajs-${randomUUID().slice(0, 8)}`;
  readonly options: InteropSuiteOptions;
  readonly transports: Transport[] = [];
  readonly buses: AgentBus[] = [];
  readonly gateways: A2AGateway[] = [];
  readonly closers: Array<() => Promise<void>> = [];
  readonly executor = new WordsExecutor();
  worker!: AgentBus;
  caller!: AgentBus;
  busFactory!: BusTransportFactory;
  /** Two gateway instances, each its own bus process. */
  gatewayUrls: string[] = [];
  /** Handler runs per skill, to prove bad input never reaches an agent. */
  readonly runs = new Map<string, number>();

  constructor(options: InteropSuiteOptions) {
    this.options = options;
  }

  ms(n: number): number {
    return Math.round(n * (this.options.timeoutMultiplier ?? 1));
  }

  async transport(): Promise<Transport> {
    const transport = await this.options.createTransport();
    this.transports.push(transport);
    return transport;
  }

  async bus(extra: Partial<ConstructorParameters<typeof AgentBus>[0]> = {}): Promise<AgentBus> {
    const bus = new AgentBus({
      transport: await this.transport(),
      namespace: this.namespace,
      agentTtlMs: this.ms(5_000),
      timeoutMs: this.ms(20_000),
      ...extra,
    });
    this.buses.push(bus);
    await bus.start();
    return bus;
  }

  async start(gatewayExtras: Array<Partial<A2AGatewayOptions>> = [{}, {}]): Promise<void> {
    this.worker = await this.bus();
    const handlers = busHandlers(this.ms(120));
    for (const [skill, handler] of Object.entries(handlers)) {
      const card = agentCards[skill as keyof typeof agentCards];
      await this.worker.registerAgent(card, {
        [skill]: (ctx) => {
          this.runs.set(skill, (this.runs.get(skill) ?? 0) + 1);
          return handler(ctx);
        },
      });
    }
    await registerExecutor(this.worker, wordsCard, this.executor);
    this.caller = await this.bus();
    this.busFactory = new BusTransportFactory({
      openTransport: () => this.transport(),
      bus: { agentTtlMs: this.ms(5_000), timeoutMs: this.ms(20_000) },
      service: { lookupWaitMs: this.ms(3_000) },
    });
    this.closers.push(() => this.busFactory.close());
    for (const extra of gatewayExtras) {
      const gateway = new A2AGateway({
        transport: await this.transport(),
        namespace: this.namespace,
        busUrl: this.options.transportUrl,
        lookupWaitMs: this.ms(3_000),
        timeoutMs: this.ms(20_000),
        ...extra,
      });
      this.gateways.push(gateway);
      this.gatewayUrls.push(await inRange((port) => gateway.listen(port)));
    }
  }

  /** An SDK client over the bus binding (no HTTP), for one skill's agent card. */
  async busClient(skill: string): Promise<Client> {
    const card = withBusInterface(
      { name: skill, description: `${skill} over the bus`, version: '1.0.0', skills: [{ id: skill, name: skill, tags: [] }] },
      { transportUrl: this.options.transportUrl, namespace: this.namespace, skill },
    );
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [this.busFactory] }));
    return factory.createFromAgentCard(codec.cardFromWire(card));
  }

  /** An SDK client of gateway `index` over JSON-RPC (default) or HTTP+JSON. */
  async httpClient(index: number, binding: 'JSONRPC' | 'HTTP+JSON' = 'JSONRPC'): Promise<Client> {
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: [binding] }));
    return factory.createFromUrl(this.gatewayUrls[index]!);
  }

  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => {});
    await Promise.allSettled(this.gateways.map((g) => g.close()));
    await Promise.allSettled(this.buses.map((b) => b.close()));
    await Promise.allSettled(this.transports.map((t) => t.close({ drainTimeoutMs: 500 })));
  }
}
