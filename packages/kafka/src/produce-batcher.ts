import type { Producer, RecordMetadata } from 'kafkajs';

export interface OutgoingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer;
}

interface Pending {
  readonly record: OutgoingRecord;
  /** When the publish gives up (`publishTimeoutMs` after it was sent), on `Date.now()`. */
  readonly deadline: number;
  readonly resolve: (offset: string) => void;
  readonly reject: (error: unknown) => void;
}

/** Limits of one produce request: under the broker's default 1 MiB `message.max.bytes`. */
const maxRequestMessages = 2_000;
const maxRequestBytes = 900 * 1024;

/**
 * Coalesces concurrent publishes into one produce request. The idempotent kafkajs producer
 * holds one request in flight per broker (it locks the broker for the sequence numbers),
 * so one request per publish would cap throughput at one round trip per message. Instead,
 * records wait while a request is in flight and go out together in the next one; order per
 * partition is the order of `send` calls.
 */
export class ProduceBatcher {
  private queue: Pending[] = [];
  private inFlight = false;
  private scheduled = false;
  private readonly producer: () => Promise<Producer>;
  private readonly timeoutMs: number;
  private readonly discard: () => void;
  /** Wait before resending after a transient failure; doubles up to 2 s, reset by a success. */
  private backoffMs = 0;
  /** A request went through once: later connection failures are a broker restarting, not a wrong address. */
  private reachedOnce = false;

  /**
   * `discard`: drop the producer so the next request gets a fresh one. After a failed request
   * (a broker restart) the idempotent producer's sequence numbers may no longer match the
   * broker's ("out of order sequence number"), and kafkajs never recovers from that by itself.
   */
  constructor(producer: () => Promise<Producer>, timeoutMs: number, discard: () => void = () => {}) {
    this.producer = producer;
    this.timeoutMs = timeoutMs;
    this.discard = discard;
  }

  /** Resolves with the record's offset once the broker stored it on all in-sync replicas. */
  send(record: OutgoingRecord): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject, deadline: Date.now() + this.timeoutMs });
      this.schedule();
    });
  }

  /** Sends records together; resolves with their offsets in the same order. */
  sendAll(records: readonly OutgoingRecord[]): Promise<string[]> {
    return Promise.all(records.map((record) => this.send(record)));
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    // One macrotask of patience gathers every publish started in the same tick.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.take();
    let retryLater = false;
    try {
      const producer = await this.producer();
      const remainingMs = Math.max(100, Math.min(...batch.map((pending) => pending.deadline)) - Date.now());
      const metadata = await withTimeout(producer.sendBatch({ acks: -1, topicMessages: groupByTopic(batch) }), remainingMs);
      this.backoffMs = 0;
      this.reachedOnce = true;
      settleOffsets(batch, metadata);
    } catch (error) {
      this.discard();
      // A broker restarting or briefly unreachable: kafkajs gives up after its own few
      // retries (seconds), but a publish waits up to publishTimeoutMs. Records still within
      // it go back to the head of the queue, in order, and are sent again after a pause. (A
      // broker never reached fails at once: a wrong address is no restart.)
      const now = Date.now();
      const again = this.reachedOnce && isTransient(error) ? batch.filter((pending) => pending.deadline > now + 100) : [];
      for (const pending of batch) if (!again.includes(pending)) pending.reject(error);
      if (again.length > 0) {
        this.queue.unshift(...again);
        this.backoffMs = Math.min(Math.max(250, this.backoffMs * 2), 2_000);
        retryLater = true;
      }
    } finally {
      if (retryLater) {
        setTimeout(() => {
          this.inFlight = false;
          void this.flush();
        }, this.backoffMs);
      } else {
        this.inFlight = false;
        if (this.queue.length > 0) void this.flush();
      }
    }
  }

  private take(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < maxRequestMessages) {
      bytes += this.queue[count]!.record.value.length + this.queue[count]!.record.key.length;
      if (bytes > maxRequestBytes && count > 0) break;
      count += 1;
    }
    return this.queue.splice(0, count);
  }
}

function groupByTopic(batch: readonly Pending[]): Array<{ topic: string; messages: Array<{ key: string; value: Buffer; partition: number }> }> {
  const byTopic = new Map<string, Array<{ key: string; value: Buffer; partition: number }>>();
  for (const { record } of batch) {
    let messages = byTopic.get(record.topic);
    if (!messages) byTopic.set(record.topic, (messages = []));
    messages.push({ key: record.key, value: record.value, partition: record.partition });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** A partition's records of one request got consecutive offsets from its base offset, in send order. */
function settleOffsets(batch: readonly Pending[], metadata: RecordMetadata[]): void {
  const next = new Map<string, bigint>();
  for (const entry of metadata) {
    if (entry.baseOffset !== undefined) next.set(`${entry.topicName}\u0000${entry.partition}`, BigInt(entry.baseOffset));
  }
  for (const pending of batch) {
    const slot = `${pending.record.topic}\u0000${pending.record.partition}`;
    const offset = next.get(slot);
    if (offset === undefined) {
      pending.reject(new Error(`no produce result for ${pending.record.topic}/${pending.record.partition}`));
      continue;
    }
    next.set(slot, offset + 1n);
    pending.resolve(offset.toString());
  }
}

/** kafkajs errors (anywhere in the cause chain) that a later attempt may not meet: no connection, no leader yet, a timeout. */
const TRANSIENT = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
]);

export function isTransient(error: unknown): boolean {
  for (
    let current = error, depth = 0;
    current instanceof Error && depth < 8;
    current = current.cause ?? (current as { originalError?: unknown }).originalError, depth += 1
  ) {
    const kafkaError = current as Error & { retriable?: boolean; type?: string };
    if (kafkaError.name === 'KafkaJSProtocolError') return kafkaError.retriable === true;
    if (TRANSIENT.has(kafkaError.name)) return true;
  }
  return false;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
