import { transportConformanceSuite } from '@a2a-bus/conformance';
import { createTransport, loopCapabilities } from './loop-adapter.mjs';

// One log for the whole run; a "restart" rebuilds the clients on it, as memory does.
const partitions = 4;
const url = `loop://conformance-${process.pid}`;

transportConformanceSuite({
  name: 'loop',
  capabilities: loopCapabilities,
  partitions,
  // It is the memory transport underneath: an unsettled message goes to the next member at once.
  redeliveryBoundMs: 250,
  createTransport: (overrides) => createTransport(url, { partitions, ...overrides }),
  // The log never goes away: "while down" is any moment between the clients being rebuilt.
  restart: { createTransport: () => createTransport(url, { partitions }), restartBroker: async (whileDown) => whileDown?.() },
});
