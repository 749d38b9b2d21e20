import { randomUUID } from 'node:crypto';
import { AuthenticationError, AuthorizationError, createTransport } from '@a2a-bus/core';
import { createNatsTransport } from '@a2a-bus/nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textMessage } from './src/conformance/context.js';
import { trustedWorkflowSuite } from './src/runtime/trust-suite.js';
import { capturingLogger, everythingIn, freePorts, startSecuredBroker, type SecuredBrokerHandle, requirePrograms } from './src/servers/secured-broker.js';
import { skippedSuite } from './src/env.js';

const skipReason = requirePrograms('[nats] TLS + users with subject permissions', ['nats-server', 'openssl', 'keytool']);

if (skipReason) {
  skippedSuite('[nats] TLS + users with subject permissions', skipReason);
} else {
  // A nats-server of our own: TLS required, user/password, subject permissions (scripts/security/nats.sh).
  // Ports 41400-41499.
  let port: number;
  let broker: SecuredBrokerHandle;
  let password: string;

  beforeAll(async () => {
    port = await freePorts(41_400);
    broker = await startSecuredBroker('nats', { NATS_TLS_PORT: String(port) });
    password = broker.credentials.NATS_AGENTS_PASSWORD!;
  }, 60_000);
  afterAll(() => broker?.stop());

  describe('[nats] TLS + users with subject permissions', () => {
    it('connects with tls://user:password@ and the CA, publishes and consumes in its namespace', async () => {
      // The URL form, through createTransport: credentials in the URL, TLS from the scheme, the CA as an option.
      const transport = await createTransport(`tls://agents:${password}@127.0.0.1:${port}`, {
        tls: { ca: broker.ca },
        streamPrefix: 'agents',
        partitions: 2,
        storage: 'memory',
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

    it('a wrong password fails fast with AuthenticationError naming the server, and the password appears nowhere', async () => {
      const secret = `wrong-${randomUUID()}`;
      const { lines, logger } = capturingLogger();
      const transport = createNatsTransport({
        url: `tls://agents:${secret}@127.0.0.1:${port}`,
        tls: { ca: broker.ca },
        streamPrefix: 'agents',
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
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(everythingIn(error) + lines.join('\n')).not.toContain(secret);
    });

    it('a server certificate the client cannot verify fails with AuthenticationError', async () => {
      const transport = createNatsTransport({
        url: `tls://127.0.0.1:${port}`,
        user: 'agents',
        pass: password,
        streamPrefix: 'agents',
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

    it('publishing outside the namespace fails fast with AuthorizationError naming the subject, no retry loop', async () => {
      const { lines, logger } = capturingLogger();
      // The user may publish on agents.> only; this transport's subjects are outside.*.
      const transport = createNatsTransport({
        url: `tls://127.0.0.1:${port}`,
        user: 'agents',
        pass: password,
        tls: { ca: broker.ca },
        streamPrefix: 'outside',
        storage: 'memory',
        requestTimeoutMs: 20_000,
        logger,
      });
      try {
        const started = Date.now();
        const error = await transport.publish('orders', textMessage('k', 'x')).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(AuthorizationError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain('outside.t.orders.');
        expect((error as Error).message).toContain(`127.0.0.1:${port}`);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(everythingIn(error) + lines.join('\n')).not.toContain(password);
      } finally {
        await transport.close();
      }
    });

    it('subscribing outside the namespace fails fast with AuthorizationError', async () => {
      const transport = createNatsTransport({
        url: `tls://127.0.0.1:${port}`,
        user: 'agents',
        pass: password,
        tls: { ca: broker.ca },
        streamPrefix: 'outside',
        storage: 'memory',
        requestTimeoutMs: 20_000,
      });
      try {
        const started = Date.now();
        const error = await transport
          .subscribe('orders', async () => {}, { group: 'g' })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(AuthorizationError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain('outside.');
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await transport.close();
      }
    });
  });

  // The three-step workflow with trust enforced, over TLS as the namespace's user.
  trustedWorkflowSuite({
    name: 'nats over TLS + user permissions',
    createTransport: () =>
      createNatsTransport({
        url: `tls://127.0.0.1:${port}`,
        user: 'agents',
        pass: password,
        tls: { ca: broker.ca },
        streamPrefix: 'agents',
        partitions: 2,
        storage: 'memory',
        ackWaitMs: 2_000,
        leaseTtlMs: 2_000,
      }),
  });
}
