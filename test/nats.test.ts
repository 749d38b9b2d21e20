import { createNatsTransport, natsCapabilities, type NatsTransportOptions } from '@a2a-bus/nats';
import { afterAll, beforeAll } from 'vitest';
import { requireBroker, skippedSuite, transportConformanceSuite } from './src/index.js';
import { startNatsServer, type NatsServerHandle } from './src/servers/nats-server.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));
const partitions = 4;
// Short timers so unacked messages come back within a case's time. Leases last 6 s (renewed
// every 2 s): with 2 s ones, a loaded machine stalled renewals long enough for a member to lose
// its partitions mid-case (the crash case then waited in vain for its victim to hold messages).
const options: NatsTransportOptions = { partitions, streamPrefix: 'a2aconf', ackWaitMs: 2_000, leaseTtlMs: 6_000 };

let restartable: NatsServerHandle | undefined;
beforeAll(async () => {
  if (!skipReason) restartable = await startNatsServer();
}, 20_000);
afterAll(async () => restartable?.stop());

if (skipReason) {
  skippedSuite('[nats] transport conformance', skipReason);
} else {
  transportConformanceSuite({
    name: 'nats',
    capabilities: natsCapabilities('file'),
    partitions,
    // A lost ack or term: JetStream redelivers after AckWait; 1 s more for the pull to bring it.
    redeliveryBoundMs: options.ackWaitMs! + 1_000,
    createTransport: (overrides) => createNatsTransport({ ...options, url, ...overrides }),
    restart: {
      createTransport: () => createNatsTransport({ ...options, url: restartable!.url }),
      restartBroker: (whileDown) => restartable!.restart(whileDown),
    },
    cleanup: async (topics) => {
      const admin = createNatsTransport({ ...options, url });
      await Promise.all(topics.map((topic) => admin.deleteTopic(topic)));
      await admin.close();
    },
  });
}
