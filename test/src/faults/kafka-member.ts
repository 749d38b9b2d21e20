// One member of a Kafka consumer group in a process of its own, for fault cases that pause
// (SIGSTOP) or kill it. argv[2]: { brokers, topic, group, options }. Writes "ready" once it
// joined, then two lines per message it handled ("start <text>", "got <text>"); handlers take 50 ms, one at
// a time, so fetched records queue up behind them (a batch is in progress at any moment).
//
// MEMBER_FREEZE_MS: once the test sends "freeze-at-sync" (IPC), the process stops dead for that
// long (Atomics.wait: no timer, no I/O, as under SIGSTOP) right after its next SyncGroup
// request went out, so the answer waits in its socket while the group goes on without it.
import { Socket } from 'node:net';
import { createKafkaTransport, type KafkaTransportOptions } from '@a2a-bus/kafka';
import { pino } from 'pino';

const SYNC_GROUP = 14;
const freezeMs = Number(process.env.MEMBER_FREEZE_MS ?? 0);
if (freezeMs > 0) {
  let armed = false;
  process.on('message', (message) => void (message === 'freeze-at-sync' && (armed = true)));
  const write = Socket.prototype.write as (this: Socket, ...args: unknown[]) => boolean;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]): boolean {
    const written = write.apply(this, args);
    const [chunk] = args;
    if (armed && Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === SYNC_GROUP) {
      armed = false;
      setImmediate(() => {
        process.stdout.write('frozen\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, freezeMs);
        process.stdout.write('woke\n');
      });
    }
    return written;
  } as Socket['write'];
}

interface MemberConfig {
  readonly brokers: string[];
  readonly topic: string;
  readonly group: string;
  readonly options: KafkaTransportOptions;
}

const config = JSON.parse(process.argv[2] ?? '{}') as MemberConfig;
const logger = pino({ level: process.env.MEMBER_LOG_LEVEL ?? 'warn', base: { member: process.pid } }, pino.destination(process.env.MEMBER_LOG_FILE ?? 2));
const transport = createKafkaTransport({ ...config.options, brokers: config.brokers, logger });
await transport.subscribe(
  config.topic,
  async (delivery) => {
    const { envelope } = delivery;
    const text = envelope.kind === 'message' ? (envelope.payload.parts[0]?.text ?? '') : '';
    process.stdout.write(`start ${text}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.stdout.write(`got ${text}\n`);
  },
  { group: config.group, maxInFlight: 1 },
);
process.stdout.write('ready\n');
process.on('disconnect', () => process.exit(0));
setInterval(() => {}, 60_000); // held open until the test ends it
