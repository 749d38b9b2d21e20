import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsNames } from './names.js';
import { isNotFound } from './topics.js';

/**
 * One retention round (see `RetentionTrimmer`) over the topics' streams: per stream, the cut
 * is the first sequence stored no earlier than the age limit, lowered to the lowest sequence
 * a consumer still needs; a purge then deletes everything below it. Returns the number of
 * messages purged.
 */
export async function trimNatsStreams(jsm: JetStreamManager, names: NatsNames, targets: ReadonlyMap<string, number>, now: number): Promise<number> {
  let purged = 0;
  for (const [topic, maxAgeMs] of targets) purged += await trimStream(jsm, names.stream(topic), now - maxAgeMs);
  return purged;
}

async function trimStream(jsm: JetStreamManager, stream: string, oldestKept: number): Promise<number> {
  let info: Awaited<ReturnType<JetStreamManager['streams']['info']>>;
  try {
    info = await jsm.streams.info(stream);
  } catch (error) {
    if (isNotFound(error)) return 0; // deleted meanwhile
    throw error;
  }
  const { first_seq: first, last_seq: last, messages } = info.state;
  if (messages === 0) return 0;
  let cut = await firstStoredSince(jsm, stream, first, last, oldestKept);
  if (cut <= first) return 0;
  cut = Math.min(cut, await neededFloor(jsm, stream));
  if (cut <= first) return 0;
  const { purged } = await jsm.streams.purge(stream, { seq: cut });
  return purged;
}

/**
 * The lowest sequence any consumer of the stream still needs: one past its ack floor while it
 * has messages pending delivery or acknowledgement (a consumer filters one partition's
 * subject, so its ack floor may lag other partitions' messages: that only keeps more). A
 * consumer with nothing pending needs nothing stored now. Each group's consumers count
 * whether a member is running or not.
 */
async function neededFloor(jsm: JetStreamManager, stream: string): Promise<number> {
  let floor = Number.POSITIVE_INFINITY;
  for await (const consumer of jsm.consumers.list(stream)) {
    if (consumer.num_pending === 0 && consumer.num_ack_pending === 0) continue;
    floor = Math.min(floor, consumer.ack_floor.stream_seq + 1);
  }
  return floor;
}

/**
 * The first sequence in [first, last + 1] stored at or after `since` (ms), by binary search
 * on the stored times (JetStream stamps a message when it stores it, so times rise with the
 * sequence). A message missing below the stream's end was purged meanwhile: older.
 */
async function firstStoredSince(jsm: JetStreamManager, stream: string, first: number, last: number, since: number): Promise<number> {
  let low = first;
  let high = last + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const message = await jsm.streams.getMessage(stream, { seq: middle }).catch((error: unknown) => {
      if (isNotFound(error)) return null;
      throw error;
    });
    if (!message || message.time.getTime() < since) low = middle + 1;
    else high = middle;
  }
  return low;
}
