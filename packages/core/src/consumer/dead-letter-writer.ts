import { sleep } from '../clock.js';
import type { Envelope } from '../envelope.js';
import { A2ABusError } from '../errors/a2a-bus-error.js';
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js';
import { reportError } from '../instrumentation.js';
import { buildDeadLetter, buildMinimalDeadLetter } from './dead-letter.js';
import type { InboundRecord, KeyedDispatcherOptions } from './dispatcher-types.js';

/** What was dead-lettered (or dropped, with `deadLetterTopic: false`), for the instrumentation event. */
export interface WrittenDeadLetter {
  readonly id: string;
  readonly key: string;
  readonly reason: string;
  /** False when the dead-letter topic could not be written in time: the dead letter went to the log only. */
  readonly written: boolean;
}

/**
 * Writes a record's dead letter to `options.deadLetterTopic`. A dead letter that cannot be
 * written is retried with backoff while `stillOwned()`; one the backend refuses for good (too
 * large, a key the envelope cannot carry) is written in its minimal form instead. One that
 * still cannot be written after `deadLetterTimeoutMs` (the topic unwritable, the broker
 * refusing it) must not block its key — on Kafka its whole partition — forever: it is logged
 * in full at error level and let go (`written: false`, reported as such). Resolves undefined
 * when ownership ended before it was written.
 */
export async function writeDeadLetter<R extends InboundRecord>(
  options: KeyedDispatcherOptions<R>,
  record: R,
  envelope: Envelope | undefined,
  reason: string,
  error: unknown,
  attempts: number,
  ownership: { readonly signal: AbortSignal; stillOwned(): boolean },
): Promise<WrittenDeadLetter | undefined> {
  const key = envelope?.key ?? record.key;
  const id = envelope?.id ?? `${options.topic}/${record.partition}/${record.offset}`;
  const fullReason = envelope ? reason : `${reason}: ${error instanceof Error ? error.message : String(error)}`;
  if (options.deadLetterTopic === false) {
    options.logger.error({ err: error, id, reason: fullReason }, 'message dropped: no dead-letter topic');
    return { id, key, reason: fullReason, written: false };
  }
  const input = {
    sourceTopic: options.topic,
    group: options.group,
    reason: fullReason,
    error,
    attempts,
    key,
    partition: record.partition,
    offset: record.offset,
    // Oversized bytes are not copied into the dead letter: it would be refused for the same reason.
    ...(envelope ? { original: envelope } : PayloadTooLargeError.isInstance(error) ? {} : { raw: record.value as Uint8Array }),
  };
  let deadLetter = buildDeadLetter(input);
  let minimal = false;
  const giveUpAt = options.clock.now() + (options.deadLetterTimeoutMs ?? 30_000);
  for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      await options.backend.publishDeadLetter(options.deadLetterTopic, deadLetter);
      return { id, key, reason: fullReason, written: true };
    } catch (publishError) {
      const refused = A2ABusError.isInstance(publishError) && !publishError.isRetryable;
      const outOfTime = options.clock.now() >= giveUpAt;
      const report = (message: string): void =>
        reportError(options.events, options.logger, 'error', {
          kind: 'dead-letter-failed',
          transport: options.transport,
          topic: options.topic,
          group: options.group,
          partition: record.partition,
          message: `${message} (id ${id}, to ${options.deadLetterTopic})`,
          error: publishError,
        });
      if ((refused || outOfTime) && !minimal) {
        report(refused ? 'dead letter refused; writing its minimal form' : 'dead letter not written in time; trying its minimal form once');
        deadLetter = buildMinimalDeadLetter(input);
        minimal = true;
        continue;
      }
      if (outOfTime || refused) {
        // The fallback: the whole dead letter goes to the log, and the key moves on.
        options.logger.error({ key, deadLetter: buildDeadLetter(input) }, 'the dead letter that could not be written');
        report('dead letter could not be written; logged instead and the message let go so its key is not blocked');
        return { id, key, reason: fullReason, written: false };
      }
      report('dead-letter publish failed; retrying');
      await sleep(options.clock, Math.min(wait, Math.max(0, giveUpAt - options.clock.now())), ownership.signal);
      if (!ownership.stillOwned()) return undefined;
    }
  }
}
