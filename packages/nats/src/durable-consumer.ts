import type { Logger } from '@a2a-bus/core';
import { AckPolicy, type Consumer, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsClients } from './connection.js';
import type { NatsNames } from './names.js';
import type { ResolvedNatsOptions } from './options.js';
import { isNotFound } from './topics.js';

export interface DurableConsumerSpec {
  readonly stream: string;
  readonly topic: string;
  readonly group: string;
  readonly partition: number;
  readonly startFrom: 'earliest' | 'latest';
  readonly maxInFlight: number;
  readonly logger: Logger;
  /** Ephemeral groups: the server deletes the consumer once nobody pulled for this long. */
  readonly inactiveThresholdMs?: number;
}

/**
 * The durable pull consumer of one (group, partition): created on first use with the
 * partition's subject as filter, or brought to the AckWait / MaxDeliver now configured.
 */
export async function ensureDurableConsumer(
  context: { readonly clients: NatsClients; readonly names: NatsNames; readonly options: ResolvedNatsOptions },
  spec: DurableConsumerSpec,
): Promise<Consumer> {
  const { clients, names, options } = context;
  const durable = names.durable(spec.group, spec.partition);
  const wanted = {
    ack_wait: nanos(options.ackWaitMs),
    max_deliver: options.maxDeliver,
    max_ack_pending: Math.max(1_000, spec.maxInFlight * 2),
  };
  try {
    const info = await clients.jsm.consumers.info(spec.stream, durable);
    if (info.config.ack_wait !== wanted.ack_wait || info.config.max_deliver !== wanted.max_deliver) {
      await clients.jsm.consumers.update(spec.stream, durable, wanted).catch((error: unknown) => {
        spec.logger.warn({ err: error, durable }, 'could not update consumer settings; keeping the existing ones');
      });
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await clients.jsm.consumers.add(spec.stream, {
      durable_name: durable,
      filter_subject: names.subject(spec.topic, spec.partition),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: spec.startFrom === 'latest' ? DeliverPolicy.New : DeliverPolicy.All,
      ...(spec.inactiveThresholdMs ? { inactive_threshold: nanos(spec.inactiveThresholdMs) } : {}),
      ...wanted,
    });
  }
  return clients.js.consumers.get(spec.stream, durable);
}
