import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { agentRuntimeSuite } from './src/index.js';

const broker = new MemoryBroker();

agentRuntimeSuite({ name: 'memory', createTransport: () => createMemoryTransport({ broker, partitions: 4 }) });
