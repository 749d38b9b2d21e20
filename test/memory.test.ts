import { createMemoryTransport, MemoryBroker, memoryCapabilities } from '@a2a-bus/memory';
import { transportConformanceSuite } from './src/index.js';

// One broker for the whole run; a "restart" tears the clients down, the log lives on.
const broker = new MemoryBroker();
const partitions = 4;

transportConformanceSuite({
  name: 'memory',
  capabilities: memoryCapabilities,
  partitions,
  // A closing member's pending entries go to the next member at once, in process.
  redeliveryBoundMs: 250,
  createTransport: (overrides) => createMemoryTransport({ broker, partitions, ...overrides }),
  restart: {
    createTransport: () => createMemoryTransport({ broker, partitions }),
    restartBroker: async (whileDown) => whileDown?.(),
  },
});
