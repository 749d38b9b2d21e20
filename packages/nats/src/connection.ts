import { TransportLifecycle } from '@a2a-bus/core/adapter';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { serverList, type ResolvedNatsOptions } from './options.js';

export interface NatsClients {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/**
 * Connects and checks that JetStream answers, all within `connectTimeoutMs`; otherwise
 * rejects with `BrokerUnreachableError` naming the servers tried.
 */
export async function connectNats(options: ResolvedNatsOptions): Promise<NatsClients> {
  const servers = serverList(options);
  const timeoutMs = options.connectTimeoutMs;
  const lifecycle = new TransportLifecycle({ scope: 'nats', address: servers.map(withoutCredentials).join(','), connectTimeoutMs: timeoutMs });
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
      ...(options.user !== undefined ? { user: options.user } : {}),
      ...(options.pass !== undefined ? { pass: options.pass } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
    const jsm = await jetstreamManager(nc, { timeout: options.requestTimeoutMs });
    const js = jetstream(nc, { timeout: options.requestTimeoutMs });
    return { nc, js, jsm };
  };
  // A connection that comes up after we gave up is closed, not left reconnecting forever.
  return lifecycle.connect(attempt, (late) => {
    void late.then(
      (clients) => clients.nc.close(),
      () => nc?.close(),
    );
  });
}

function withoutCredentials(server: string): string {
  return server.replace(/\/\/[^@/]*@/, '//');
}
