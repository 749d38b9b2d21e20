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
}

/**
 * Writes a record's dead letter to `options.deadLetterTopic`. A dead letter that cannot be
 * written must not be acknowledged away: it is retried with backoff while `stillOwned()`;
 * one the backend refuses for good (too large, a key the envelope cannot carry) is written in
 * its minimal form instead. Resolves undefined when ownership ended before it was written.
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
    return { id, key, reason: fullReason };
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
  for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      await options.backend.publishDeadLetter(options.deadLetterTopic, deadLetter);
      return { id, key, reason: fullReason };
    } catch (publishError) {
      const final = A2ABusError.isInstance(publishError) && !publishError.isRetryable;
      reportError(options.events, options.logger, 'error', {
        kind: 'dead-letter-failed',
        transport: options.transport,
        topic: options.topic,
        group: options.group,
        partition: record.partition,
        message: `${final ? 'dead letter refused; writing its minimal form' : 'dead-letter publish failed; retrying'} (id ${id}, to ${options.deadLetterTopic})`,
        error: publishError,
      });
      if (final) deadLetter = buildMinimalDeadLetter(input);
      else await sleep(options.clock, wait, ownership.signal);
      if (!ownership.stillOwned()) return undefined;
    }
  }
}
