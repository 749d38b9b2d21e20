import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { AuthenticationError } from '@a2a-bus/core';
import { TransportLifecycle } from '@a2a-bus/core/adapter';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectTarget, type ResolvedNatsOptions } from './options.js';
import { requestBudget } from './lease-store.js';

export interface NatsClients {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** For the lease store: requests bounded like its writes (`requestBudget`), not by `requestTimeoutMs`. */
  readonly leaseJsm: JetStreamManager;
}

/**
 * Connects and checks that JetStream answers, all within `connectTimeoutMs`; otherwise
 * rejects with `BrokerUnreachableError` naming the servers tried.
 */
export async function connectNats(options: ResolvedNatsOptions): Promise<NatsClients> {
  // Credentials come out of the URLs here: what remains is safe to show.
  const target = connectTarget(options);
  const servers = target.servers;
  const address = servers.join(',');
  const timeoutMs = options.connectTimeoutMs;
  const lifecycle = new TransportLifecycle({ scope: 'nats', address, connectTimeoutMs: timeoutMs });
  let nc: NatsConnection | undefined;
  const attempt = async (): Promise<NatsClients> => {
    nc = await connect({
      servers,
      name: options.name,
      timeout: timeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every request (each PubAck) builds an Error up front for its stack trace,
      // which costs a fifth of the CPU of a publish under load.
      noAsyncTraces: true,
      ...(target.user !== undefined ? { user: target.user } : {}),
      ...(target.pass !== undefined ? { pass: target.pass } : {}),
      ...(target.token !== undefined ? { token: target.token } : {}),
      ...(target.tls ? { tls: target.tls } : {}),
    });
    const jsm = await jetstreamManager(nc, { timeout: options.requestTimeoutMs });
    const js = jetstream(nc, { timeout: options.requestTimeoutMs });
    const leaseJsm = await jetstreamManager(nc, { timeout: Math.min(options.requestTimeoutMs, requestBudget(options.leaseTtlMs)), checkAPI: false });
    return { nc, js, jsm, leaseJsm };
  };
  // nats.js gives up on a server that accepts TCP and never sends its INFO, but leaves that
  // socket open (and the process alive) until the server hangs up: the sockets dialed to our
  // servers during the attempt are watched, and those that never received a byte are ended.
  const dialed = watchDialedSockets(servers);
  try {
    // A connection that comes up after we gave up is closed, not left reconnecting forever.
    return await lifecycle.connect(
      attempt,
      (late) => {
        dialed.endSilent();
        void late.then(
          (clients) => clients.nc.close(),
          () => nc?.close(),
        );
      },
      (cause) => authenticationErrorOf(cause, address),
    );
  } finally {
    dialed.stop();
  }
}

/** Client sockets opened to `servers` while watched (Node's `net.client.socket` diagnostics channel). */
function watchDialedSockets(servers: readonly string[]): { endSilent(): void; stop(): void } {
  const ports = new Set(servers.map((server) => Number(/:(\d+)$/.exec(server)?.[1] ?? 4222)));
  const sockets = new Set<Socket>();
  const onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (socket) sockets.add(socket);
  };
  subscribe('net.client.socket', onSocket);
  return {
    endSilent() {
      for (const socket of sockets) {
        // Only ours: to one of our servers' ports, and not a byte received (no INFO ever came).
        const port = socket.remotePort; // undefined while still connecting
        if (!socket.destroyed && socket.bytesRead === 0 && (port === undefined || ports.has(port))) socket.destroy();
      }
      sockets.clear();
    },
    stop() {
      unsubscribe('net.client.socket', onSocket);
    },
  };
}

const certificateFailure =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/;

/**
 * `AuthenticationError` when the server refused the credentials ("Authorization Violation"
 * in NATS's words) or its TLS certificate does not verify. The server's reply carries no
 * credentials; the address is given without them.
 */
export function authenticationErrorOf(error: unknown, address: string): AuthenticationError | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    if (e.name === 'AuthorizationError' || /authorization violation|authentication/i.test(e.message)) {
      return new AuthenticationError('nats', address, { cause: e, detail: 'the server refused the credentials' });
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && certificateFailure.test(code)) {
      return new AuthenticationError('nats', address, { cause: e, detail: `the server's TLS certificate does not verify (${code})` });
    }
  }
  return undefined;
}
