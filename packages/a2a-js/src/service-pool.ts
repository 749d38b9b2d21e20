import { AgentBus, createTransport, type AgentBusOptions, type Logger, type Transport } from '@a2a-bus/core';
import { parseBusUrl } from './binding.js';
import { BusA2AService, type BusA2AServiceOptions } from './bus-a2a-service.js';
import { TaskLog } from './task-log.js';

export interface ServicePoolOptions {
  /** Builds the transport for a bus URL's transport part. Default: `createTransport(url)`. */
  readonly openTransport?: (transportUrl: string) => Transport | Promise<Transport>;
  /** Extra options for the AgentBus each connection runs (timeouts, retry, logger). */
  readonly bus?: Omit<AgentBusOptions, 'transport' | 'namespace'>;
  readonly service?: Omit<BusA2AServiceOptions, 'bus' | 'taskLog' | 'defaultSkill'>;
  readonly logger?: Logger;
}

interface Connection {
  readonly transport: Transport;
  readonly bus: AgentBus;
  readonly taskLog: TaskLog;
}

/**
 * One AgentBus and one task view per (transport URL, namespace), shared by every client
 * that points there; a service per skill on top. Closing the pool closes what it opened.
 */
export class ServicePool {
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly options: ServicePoolOptions;

  constructor(options: ServicePoolOptions = {}) {
    this.options = options;
  }

  async serviceFor(busUrl: string): Promise<BusA2AService> {
    const { transportUrl, namespace, skill } = parseBusUrl(busUrl);
    const key = `${transportUrl}#${namespace}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = this.open(transportUrl, namespace);
      this.connections.set(key, connection);
      connection.catch(() => this.connections.delete(key));
    }
    const { bus, taskLog } = await connection;
    return new BusA2AService({ ...this.options.service, bus, taskLog, ...(skill ? { defaultSkill: skill } : {}) });
  }

  async close(): Promise<void> {
    const open = await Promise.allSettled(this.connections.values());
    this.connections.clear();
    for (const result of open) {
      if (result.status !== 'fulfilled') continue;
      await result.value.taskLog.close();
      await result.value.bus.close();
      await result.value.transport.close({ drainTimeoutMs: 1_000 });
    }
  }

  private async open(transportUrl: string, namespace: string): Promise<Connection> {
    const transport = await (this.options.openTransport ?? createTransport)(transportUrl);
    const logger = this.options.bus?.logger ?? this.options.logger;
    const bus = new AgentBus({ ...this.options.bus, transport, namespace, ...(logger ? { logger } : {}) });
    const taskLog = new TaskLog({ transport, namespace, ...(logger ? { logger } : {}) });
    await bus.start();
    await taskLog.start();
    return { transport, bus, taskLog };
  }
}
