// One member of a Kafka consumer group in a process of its own, for fault cases that pause
// (SIGSTOP) or kill it. argv[2]: { brokers, topic, group, options }. Writes "ready" once it
// joined, then one line per message it handled ("got <text>"); handlers take 50 ms, one at
// a time, so fetched records queue up behind them (a batch is in progress at any moment).
import { createKafkaTransport, type KafkaTransportOptions } from '@a2a-bus/kafka';
import { pino } from 'pino';

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
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.stdout.write(`got ${text}\n`);
  },
  { group: config.group, maxInFlight: 1 },
);
process.stdout.write('ready\n');
process.on('disconnect', () => process.exit(0));
setInterval(() => {}, 60_000); // held open until the test ends it
