import type { TransportCapabilities } from '@a2a-bus/core';

export function natsCapabilities(storage: 'file' | 'memory'): TransportCapabilities {
  return {
    durablePublish: { support: 'native', note: `awaits the JetStream PubAck (${storage} storage); Nats-Msg-Id = envelope id deduplicates retries` },
    batchPublish: { support: 'emulated', note: 'publishes pipelined on one connection, resolves when every PubAck arrived' },
    perKeyOrder: {
      support: 'emulated',
      note: 'subject per key-hash partition, one durable pull consumer per partition owned by one member; one message per key in flight',
    },
    orderAcrossRedelivery: {
      support: 'emulated',
      note: 'nack retries in process holding the key (working() stops AckWait); hand-over first fetches what the server still queues for redelivery, then naks everything held in order, confirmed by the server, before the lease goes; the release records the delivery sequence seen in full (the ack floor when a message is out of reach), and the next owner waits for any later delivery (to an ended pull the server kept open, or dropped by it) before it dispatches',
    },
    consumerGroups: { support: 'emulated', note: 'durable consumers per (group, partition); members share partitions through leases' },
    rebalance: { support: 'emulated', note: 'leases on a JetStream stream with compare-and-set; members nudge each other on join and leave' },
    crashRedelivery: {
      support: 'native',
      note: "unacked messages come back after ackWaitMs; the dead member's leases lapse after leaseTtlMs; the next owner fetches them all first and runs them in sequence order",
    },
    delayedNack: { support: 'emulated', note: 'in-process delay holding the key, working() keeps the message; a crash meanwhile redelivers after AckWait' },
    term: { support: 'native', note: 'JetStream +TERM' },
    deadLetter: { support: 'emulated', note: 'JetStream has no DLQ: the consumer publishes the dead letter to <topic>.dlq, then terms the original' },
    replayFromOffset: { support: 'native', note: 'ephemeral ack-less consumer from a stream sequence, deleted afterwards' },
    replayFromTimestamp: { support: 'native', note: 'ephemeral consumer with DeliverPolicy.ByStartTime' },
    backpressure: { support: 'native', note: 'pull consumers fetch only as many messages as free in-flight slots' },
    brokerRestart:
      storage === 'file'
        ? { support: 'native', note: 'file storage; durable consumers keep their ack state across restarts' }
        : { support: 'none', note: 'memory storage loses streams on a server restart' },
    lag: { support: 'native', note: 'consumer info per durable (group, partition) consumer: num_pending + num_ack_pending, num_redelivered, ack floor' },
  };
}
