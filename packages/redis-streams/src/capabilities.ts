import type { TransportCapabilities } from '@a2a-bus/core';

export const redisStreamsCapabilities: TransportCapabilities = {
  durablePublish: {
    support: 'native',
    note: 'XADD resolves after Redis replied; durable across restarts as far as the server persists (AOF appendfsync always for no loss)',
  },
  batchPublish: { support: 'native', note: 'one pipeline of XADDs; all envelopes validated before any is sent' },
  perKeyOrder: {
    support: 'emulated',
    note: 'topic = N streams partitioned by key hash (murmur2); each partition leased to one member; one message per key in flight',
  },
  orderAcrossRedelivery: {
    support: 'emulated',
    note: 'nack holds the key and retries in process; a new owner first claims (XAUTOCLAIM) the pending entries in id order',
  },
  consumerGroups: { support: 'native', note: 'XGROUP per partition stream, created for all partitions at subscribe (start id 0 or $)' },
  rebalance: {
    support: 'emulated',
    note: 'partition leases (SET NX PX + Lua) with member heartbeats; pub/sub nudges rebalance on join, leave and release',
  },
  crashRedelivery: {
    support: 'emulated',
    note: 'a dead member’s leases lapse after leaseTtlMs; the new owner claims its pending entries; periodic XPENDING/XCLAIM sweep',
  },
  delayedNack: {
    support: 'emulated',
    note: 'retried in process after the delay while the key waits (the entry stays pending; a crash meanwhile redelivers it elsewhere)',
  },
  term: { support: 'native', note: 'XACK without handling; optionally dead-lettered' },
  deadLetter: {
    support: 'emulated',
    note: '<topic>.dlq stream after maxAttempts; attempts count Redis deliveries (XPENDING), in-process retries written back with XCLAIM RETRYCOUNT',
  },
  replayFromOffset: { support: 'native', note: 'XRANGE per partition stream from the beginning or a stream id; touches no group' },
  replayFromTimestamp: { support: 'native', note: 'XRANGE from <ms>-0 (stream ids are append timestamps)' },
  backpressure: { support: 'native', note: 'XREADGROUP COUNT bounded by free in-flight slots; nothing is read while the dispatcher is full' },
  brokerRestart: {
    support: 'native',
    note: 'clients reconnect; acknowledged entries survive when Redis persists them (AOF); unacked ones are claimed again',
  },
  lag: { support: 'native', note: 'XINFO GROUPS per partition stream: lag (undelivered) + pending; XPENDING for redeliveries and the oldest unacked entry' },
};
