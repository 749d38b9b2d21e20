import type { AgentCard } from '@a2a-js/sdk';
import type { Transport, TransportFactory } from '@a2a-js/sdk/client';
import { BUS_PROTOCOL_BINDING } from '../binding.js';
import { ServicePool, type ServicePoolOptions } from '../service-pool.js';
import { BusTransport } from './bus-transport.js';

/**
 * The SDK `TransportFactory` for the a2a-bus binding. Add it to a `ClientFactory`:
 * `ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [factory] })`;
 * the client then picks the card's `supportedInterfaces` entry whose `protocolBinding` is
 * {@link BUS_PROTOCOL_BINDING} and reaches the agent through the bus at its `url`
 * (`kafka://host:port#ns=<namespace>&skill=<skill>`). Clients of one factory share one
 * bus connection per URL; `close()` ends them.
 */
export class BusTransportFactory implements TransportFactory {
  private readonly pool: ServicePool;

  constructor(options: ServicePoolOptions = {}) {
    this.pool = new ServicePool(options);
  }

  get protocolName(): string {
    return BUS_PROTOCOL_BINDING;
  }

  async create(url: string, agentCard: AgentCard): Promise<Transport> {
    return new BusTransport(await this.pool.serviceFor(url), agentCard);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
