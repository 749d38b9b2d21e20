import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { a2aInteropSuite } from './suite/interop-suite.js';

const broker = new MemoryBroker();

a2aInteropSuite({ name: 'memory', createTransport: () => createMemoryTransport({ broker, partitions: 4 }), transportUrl: 'memory://a2a-js-suite' });
