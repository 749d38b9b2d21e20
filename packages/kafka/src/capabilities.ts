import type { TransportCapabilities } from '@a2a-bus/core';

export const kafkaCapabilities: TransportCapabilities = {
  durablePublish: { support: 'native', note: 'idempotent producer, acks=all; resolves with the offset once stored on all in-sync replicas' },
  batchPublish: { support: 'native', note: 'validated as a whole, then sent in one produce request (concurrent publishes are coalesced too)' },
  perKeyOrder: {
    support: 'native',
    note: 'murmur2 key → partition (as Java clients); one message per key in flight, other keys and partitions run on; a slow key holds only itself',
  },
  orderAcrossRedelivery: {
    support: 'emulated',
    note: 'no per-message nack in Kafka: the retry runs in process after the delay and holds its key; the offset stays uncommitted, so a crash meanwhile redelivers it (in order) elsewhere',
  },
  consumerGroups: {
    support: 'native',
    note: 'Kafka consumer groups (classic protocol; a2a-bus assignor: partitions with running handlers stay with their member, the rest stay put up to an even share; round-robin in a group with older members)',
  },
  rebalance: {
    support: 'native',
    note: 'eager protocol; a member rejoins once its acked prefix is committed, keeping the partitions it runs handlers on (the assignor gives them back), so a key never runs on two members and a dead member’s work waits for its session, not for the survivors’ handlers; a leaving member waits for its running handlers (up to rebalanceTimeoutMs - sessionTimeoutMs); queued records are refetched by the next owner',
  },
  crashRedelivery: {
    support: 'native',
    note: 'only the contiguous acked prefix is committed; the next owner reads on from there. attempt restarts at 1 after a crash (Kafka keeps no delivery count)',
  },
  delayedNack: { support: 'emulated', note: 'in-process timer holding the key; the offset stays uncommitted, so a crash meanwhile redelivers' },
  term: { support: 'emulated', note: 'counts as settled: the offset is committed past it' },
  deadLetter: { support: 'emulated', note: 'published to <topic>.dlq (a Kafka topic) before the offset is committed' },
  replayFromOffset: { support: 'native', note: 'throwaway consumer group that never commits and is deleted after; reads up to the end offsets at the call' },
  replayFromTimestamp: { support: 'native', note: 'ListOffsets by timestamp; topics a2a-bus creates use broker append time' },
  backpressure: {
    support: 'native',
    note: 'maxInFlight records in the dispatcher; when full, eachBatch blocks (heartbeating) and kafkajs fetches no more; kafkajs buffers at most one fetch (maxBytesPerPartition per partition)',
  },
  brokerRestart: { support: 'native', note: 'acks=all to the log; the consumer rejoins and resumes from its committed offsets' },
  lag: { support: 'native', note: 'committed offsets (OffsetFetch) against end offsets (ListOffsets); no pending count: Kafka keeps no per-record acks' },
};
