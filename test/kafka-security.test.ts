import { randomUUID } from 'node:crypto';
import { AuthenticationError, AuthorizationError, createTransport } from '@a2a-bus/core';
import { createKafkaTransport } from '@a2a-bus/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textMessage } from './src/conformance/context.js';
import { trustedWorkflowSuite } from './src/runtime/trust-suite.js';
import { capturingLogger, everythingIn, freePorts, requirePrograms } from './src/servers/secured-broker.js';
import { namespacedGroupId, startSecuredKafka, type SecuredKafkaHandle } from './src/servers/secured-kafka.js';
import { skippedSuite } from './src/env.js';

const skipReason = requirePrograms('[kafka] SASL_SSL (SCRAM-SHA-512) with ACLs', ['java', 'javac', 'openssl', 'keytool']);

if (skipReason) {
  skippedSuite('[kafka] SASL_SSL (SCRAM-SHA-512) with ACLs', skipReason);
} else {
  // One Kafka of our own for the file (the slowest broker to start): a SASL_SSL listener only,
  // SCRAM-SHA-512 users, StandardAuthorizer; `agents` may use topics and groups `agents.*` only.
  // Ports 41000-41100 (client, controller = client + 1).
  let port: number;
  let broker: SecuredKafkaHandle;

  beforeAll(async () => {
    port = await freePorts(41_000, 100, 2);
    broker = await startSecuredKafka(port);
  }, 150_000);
  afterAll(() => broker?.stop(), 60_000);

  const fast = { connectTimeoutMs: 20_000, publishTimeoutMs: 20_000, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 };

  describe('[kafka] SASL_SSL (SCRAM-SHA-512) with ACLs', () => {
    it('connects with kafka+ssl://user:password@ and the CA, publishes and consumes on its namespace', async () => {
      const topic = `agents.orders-${randomUUID().slice(0, 8)}`;
      const transport = await createTransport(`kafka+ssl://agents:${broker.agentsPassword}@${broker.address}`, {
        ssl: { ca: [broker.ca] },
        groupId: namespacedGroupId,
        partitions: 2,
        ...fast,
      });
      try {
        const received = new Promise<string>((resolve) => {
          void transport.subscribe(topic, async (delivery) => resolve(delivery.envelope.id), { group: 'g' });
        });
        const receipt = await transport.publish(topic, textMessage('k', 'hi'));
        expect(await received).toBe(receipt.id);
      } finally {
        await transport.close();
      }
    }, 60_000);

    it('a wrong password fails fast with AuthenticationError naming the broker, and the password appears nowhere', async () => {
      const secret = `wrong-${randomUUID()}`;
      const { lines, logger } = capturingLogger();
      const transport = createKafkaTransport({ url: `kafka+ssl://agents:${secret}@${broker.address}`, ssl: { ca: [broker.ca] }, logger, ...fast });
      const started = Date.now();
      const error = await transport.publish('agents.x', textMessage('k', 'x')).then(
        () => undefined,
        (e: unknown) => e,
      );
      await transport.close();
      expect(AuthenticationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(broker.address);
      expect((error as Error).message).toMatch(/SASL authentication failed/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(everythingIn(error) + lines.join('\n')).not.toContain(secret);
    }, 30_000);

    it('a broker certificate the client cannot verify fails with AuthenticationError', async () => {
      const transport = createKafkaTransport({ url: `kafka+ssl://agents:${broker.agentsPassword}@${broker.address}`, ...fast });
      const started = Date.now();
      const error = await transport.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      await transport.close();
      expect(AuthenticationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/TLS certificate/);
      expect(Date.now() - started).toBeLessThan(10_000);
    }, 30_000);

    it('a topic outside the ACLs fails fast with AuthorizationError naming it, the password nowhere', async () => {
      const { lines, logger } = capturingLogger();
      const transport = createKafkaTransport({
        brokers: [broker.address],
        ssl: { ca: [broker.ca] },
        sasl: { mechanism: 'scram-sha-512', username: 'agents', password: broker.agentsPassword },
        logger,
        ...fast,
      });
      try {
        const started = Date.now();
        const error = await transport.publish('outside.orders', textMessage('k', 'x')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(AuthorizationError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain('outside.orders');
        expect((error as Error).message).toContain(broker.address);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(everythingIn(error) + lines.join('\n')).not.toContain(broker.agentsPassword);
      } finally {
        await transport.close();
      }
    }, 30_000);

    it('a consumer group outside the ACLs fails fast with AuthorizationError naming the group', async () => {
      const topic = `agents.jobs-${randomUUID().slice(0, 8)}`;
      // Default group ids are `<group>.<topic>`: not under `agents.`, so not allowed.
      const transport = createKafkaTransport({
        brokers: [broker.address],
        ssl: { ca: [broker.ca] },
        sasl: { mechanism: 'scram-sha-512', username: 'agents', password: broker.agentsPassword },
        ...fast,
      });
      try {
        const started = Date.now();
        const error = await transport
          .subscribe(topic, async () => {}, { group: 'billing' })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(AuthorizationError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain(`billing.${topic}`);
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        await transport.close();
      }
    }, 30_000);
  });

  // The three-step workflow with trust enforced, over SASL_SSL as `agents`: the runtime
  // namespace starts with `agents.` and group ids with their topic, so the prefix ACLs cover all.
  trustedWorkflowSuite({
    name: 'kafka over SASL_SSL + ACLs',
    namespace: () => `agents.trust-${randomUUID().slice(0, 8)}`,
    createTransport: () =>
      createKafkaTransport({
        brokers: [broker.address],
        ssl: { ca: [broker.ca] },
        sasl: { mechanism: 'scram-sha-512', username: 'agents', password: broker.agentsPassword },
        groupId: namespacedGroupId,
        partitions: 2,
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 15_000,
        maxWaitTimeMs: 100,
      }),
    timeoutMs: 60_000,
  });
}
