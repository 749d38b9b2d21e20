import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@a2a-bus/core';
import { createKafkaTransport, kafkaCapabilities, type KafkaTransportOptions } from '@a2a-bus/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay, textMessage, waitFor } from './src/conformance/context.js';
import { requireBroker, skippedSuite, transportConformanceSuite } from './src/index.js';
import { startKafkaBroker, type KafkaBrokerHandle } from './src/servers/kafka-broker.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));
const partitions = 4;
// Short group timers so joins, leaves and dead members show up within a case's time.
const options: KafkaTransportOptions = {
  partitions,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 15_000,
  maxWaitTimeMs: 200,
  ...(process.env.KAFKA_TEST_LOG && { logger: fileLogger(process.env.KAFKA_TEST_LOG) }),
};

let restartable: KafkaBrokerHandle | undefined;
beforeAll(async () => {
  if (!skipReason && process.env.KAFKA_RESTART_TEST !== '0') restartable = await startKafkaBroker();
}, 150_000);
afterAll(async () => restartable?.stop(), 60_000);

if (skipReason) {
  skippedSuite('[kafka] transport conformance', skipReason);
} else {
  transportConformanceSuite({
    name: 'kafka',
    capabilities: kafkaCapabilities,
    partitions,
    timeoutMultiplier: 2,
    // A lost commit shows to the next member of the group, which fetches from the last commit
    // (the cases wait for its rebalance first); then one fetch (maxWaitTimeMs) and handling.
    redeliveryBoundMs: options.maxWaitTimeMs! + 800,
    createTransport: (overrides) => createKafkaTransport({ ...options, brokers, ...overrides }),
    ...(process.env.KAFKA_RESTART_TEST !== '0' && {
      restart: {
        createTransport: () => createKafkaTransport({ ...options, brokers: [restartable!.address] }),
        restartBroker: (whileDown) => restartable!.restart(whileDown),
      },
    }),
    cleanup: async (topics) => {
      const admin = createKafkaTransport({ brokers });
      await Promise.all(topics.map((topic) => admin.deleteTopic(topic).catch(() => undefined)));
      await admin.close();
    },
  });
}

if (!skipReason && process.env.KAFKA_RESTART_TEST !== '0') {
  describe('[kafka] a member process paused through a broker restart', () => {
    // A broker outage longer than the session: the member must stop its running handlers
    // within the session, since the group expires it meanwhile. (The fault harness found the
    // same outage, when kafkajs crashed and sent LeaveGroup early in it, leaving handlers
    // running while the member let go with the whole rebalance budget: 40 keys on two
    // members. That timing did not occur here, so this case guards the plain path only.)
    it('a broker outage past the session stops the running handlers within the session', async () => {
      const broker = restartable!;
      const topic = `outage-${randomUUID().slice(0, 8)}`;
      const client = createKafkaTransport({ ...options, brokers: [broker.address] });
      let started = false;
      let abortedAt: number | undefined;
      try {
        await client.subscribe(
          topic,
          async (delivery) => {
            started = true;
            delivery.signal.addEventListener('abort', () => void (abortedAt ??= Date.now()), { once: true });
            await delay(40_000); // a long step that does not look at its signal
          },
          { group: 'outage' },
        );
        await client.publish(topic, textMessage('k', 'long'));
        await waitFor('the handler to start', () => started, 30_000);
        const outageFrom = Date.now();
        await broker.restart(() => waitFor('the handler to be stopped', () => abortedAt !== undefined, 25_000).catch(() => undefined));
        expect(abortedAt, 'the running handler was never stopped').toBeDefined();
        // 0.8 of the 6 s session after the last answered heartbeat, plus the broker's own shutdown.
        expect(abortedAt! - outageFrom).toBeLessThan(9_000);
      } finally {
        await client.close({ drainTimeoutMs: 0 });
      }
    }, 180_000);

    // The fault harness's scenario: a worker SIGSTOPped past its session while the broker
    // restarts wakes with a batch in progress, learns it lost the group and tries to rejoin
    // against a broker still down. Here it then lost its session again and again after each
    // rejoin (no heartbeat while its large batch waited for room), working 5 s of every 11.
    it('takes work again after it wakes, and loses its session only the once', async () => {
      const broker = restartable!;
      const topic = `paused-member-${randomUUID().slice(0, 8)}`;
      const publisher = createKafkaTransport({ ...options, brokers: [broker.address], publishTimeoutMs: 3_000 });
      const script = fileURLToPath(new URL('./src/faults/kafka-member.ts', import.meta.url));
      const config = { brokers: [broker.address], topic, group: 'paused', options };
      const member = spawn(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', script, JSON.stringify(config)], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      const handled: string[] = [];
      let stderr = '';
      let sessionsLost = 0;
      member.stderr!.on('data', (chunk: Buffer) => {
        sessionsLost += chunk.toString().split('past the session; stopping its partitions').length - 1;
        stderr = (stderr + chunk.toString()).slice(-8_000);
      });
      let ready = false;
      member.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (line === 'ready') ready = true;
          else if (line.startsWith('got ')) handled.push(line.slice(4));
        }
      });
      const publishAll = (texts: string[]) => Promise.all(texts.map((text, i) => publisher.publish(topic, textMessage(`k${i % 16}`, text))));
      try {
        await waitFor('the member to join', () => ready, 60_000);
        // A backlog, so that a batch is in progress (waiting for room) when the process stops.
        await publishAll(Array.from({ length: 400 }, (_, i) => `before-${i}`));
        await waitFor('the member to start on the backlog', () => handled.length >= 10, 30_000);
        member.kill('SIGSTOP');
        await delay(8_000); // past the 6 s session: the group drops the member
        await broker.restart(async () => {
          await delay(2_000);
          member.kill('SIGCONT'); // it wakes, knows its session is gone, and tries to rejoin: no broker
          await delay(14_000); // longer than kafkajs's join retries
        });
        await publishAll(Array.from({ length: 16 }, (_, i) => `after-${i}`));
        await waitFor(
          `the woken member to handle a message published after the restart (handled ${handled.length}, the last ${handled.at(-1)}); its log: ${stderr}`,
          () => handled.some((text) => text.startsWith('after-')),
          90_000,
        );
        await waitFor(`the whole backlog handled (${new Set(handled).size} of 416)`, () => new Set(handled).size === 416, 60_000);
        expect(member.exitCode).toBeNull();
        expect(sessionsLost, `sessions lost (the pause's own, then any after the rejoin); its log: ${stderr}`).toBe(1);
      } finally {
        member.kill('SIGKILL');
        await publisher.deleteTopic(topic).catch(() => undefined);
        await publisher.close();
      }
    }, 240_000);
  });
}

/** KAFKA_TEST_LOG=<file>: warnings and errors of every transport, to see why a case failed. */
function fileLogger(file: string): Logger {
  const line = (level: string) => (obj: object, msg?: string) => {
    const { err, ...rest } = obj as { err?: Error };
    appendFileSync(file, `${new Date().toISOString()} ${level} ${msg ?? ''} ${err ? err.message : ''} ${JSON.stringify(rest)}\n`);
  };
  const logger: Logger = { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error'), child: () => logger };
  return logger;
}
