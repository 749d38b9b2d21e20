import { randomUUID } from 'node:crypto';
import { AuthenticationError, AuthorizationError } from '@a2a-bus/core';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { textMessage } from './src/conformance/context.js';
import { trustedWorkflowSuite } from './src/runtime/trust-suite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, everythingIn, freePorts, startSecuredBroker, type SecuredBrokerHandle, requirePrograms } from './src/servers/secured-broker.js';
import { skippedSuite } from './src/env.js';

const skipReason = requirePrograms('[redis-streams] TLS + ACL users', ['redis-server', 'redis-cli', 'openssl', 'keytool']);

if (skipReason) {
  skippedSuite('[redis-streams] TLS + ACL users', skipReason);
} else {
  // A redis-server of our own that speaks only TLS and lets only ACL users in (scripts/security/redis.sh).
  // Ports 41300-41399 (this suite's share of 41000-41999).
  let port: number;
  let broker: SecuredBrokerHandle;
  let agentsPassword: string;

  beforeAll(async () => {
    port = await freePorts(41_300);
    broker = await startSecuredBroker('redis', { REDIS_TLS_PORT: String(port) });
    agentsPassword = broker.credentials.REDIS_AGENTS_PASSWORD!;
  }, 60_000);
  afterAll(() => broker?.stop());

  describe('[redis-streams] TLS + ACL users', () => {
    it('connects with rediss://user:password@ and the CA, publishes and consumes in its namespace', async () => {
      const transport = createRedisStreamsTransport({
        url: `rediss://agents:${agentsPassword}@127.0.0.1:${port}`,
        tls: { ca: broker.ca },
        keyPrefix: 'agents:',
        partitions: 2,
      });
      try {
        const received = new Promise<string>((resolve) => {
          void transport.subscribe('orders', async (delivery) => resolve(delivery.envelope.id), { group: 'g' });
        });
        const receipt = await transport.publish('orders', textMessage('k', 'hi'));
        expect(await received).toBe(receipt.id);
      } finally {
        await transport.close();
      }
    });

    it('a wrong password fails fast with AuthenticationError naming the broker, and the password appears nowhere', async () => {
      const secret = `wrong-${randomUUID()}`;
      const { lines, logger } = capturingLogger();
      const transport = createRedisStreamsTransport({
        url: `rediss://agents:${secret}@127.0.0.1:${port}`,
        tls: { ca: broker.ca },
        keyPrefix: 'agents:',
        logger,
        connectTimeoutMs: 20_000,
      });
      const started = Date.now();
      const error = await transport.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      await transport.close();
      expect(AuthenticationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      expect((error as Error).message).toMatch(/authentication failed/);
      // Far below the connect timeout: no retry loop.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(everythingIn(error)).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
    });

    it('a CA that did not sign the server certificate fails with AuthenticationError, not a hang', async () => {
      const transport = createRedisStreamsTransport({
        url: `rediss://agents:${agentsPassword}@127.0.0.1:${port}`,
        keyPrefix: 'agents:',
        connectTimeoutMs: 20_000,
      });
      const started = Date.now();
      const error = await transport.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      await transport.close();
      expect(AuthenticationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/TLS certificate/);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('a user outside its namespace gets AuthorizationError on publish and subscribe, and the password appears nowhere', async () => {
      const { lines, logger } = capturingLogger();
      const outsider = broker.credentials.REDIS_OUTSIDER_PASSWORD!;
      // The outsider may touch outsider:* only; this transport writes under agents:.
      const transport = createRedisStreamsTransport({
        url: `rediss://outsider:${outsider}@127.0.0.1:${port}`,
        tls: { ca: broker.ca },
        keyPrefix: 'agents:',
        logger,
      });
      try {
        const publishError = await transport.publish('orders', textMessage('k', 'x')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(AuthorizationError.isInstance(publishError)).toBe(true);
        expect((publishError as Error).message).toContain(`127.0.0.1:${port}`);
        expect((publishError as Error).message).toContain('agents:{orders}');
        const subscribeError = await transport
          .subscribe('orders2', async () => {}, { group: 'g' })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(AuthorizationError.isInstance(subscribeError)).toBe(true);
        expect(everythingIn(publishError) + everythingIn(subscribeError) + lines.join('\n')).not.toContain(outsider);
      } finally {
        await transport.close();
      }
    });
  });

  // The three-step workflow with trust enforced, over TLS as the ACL user of the namespace.
  trustedWorkflowSuite({
    name: 'redis-streams over TLS + ACL',
    createTransport: () =>
      createRedisStreamsTransport({
        url: `rediss://agents:${agentsPassword}@127.0.0.1:${port}`,
        tls: { ca: broker.ca },
        keyPrefix: 'agents:',
        partitions: 2,
        leaseTtlMs: 3_000,
        blockMs: 200,
      }),
  });
}
