import { createRequire } from 'node:module';
import { silentLogger, type Logger } from '@a2a-bus/core';

/** The one kafkajs release whose RequestQueue this fixes; any other is left as it is. */
const FIXED_RELEASE = '2.2.4';
/** kafkajs's own interval for re-checking requests queued behind `maxInFlightRequests`. */
const CHECK_PENDING_MS = 10;

interface RequestQueueInternals {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  throttledUntil: number;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

let outcome: 'fixed' | 'left alone' | undefined;

/**
 * kafkajs 2.2.4's RequestQueue re-arms `setTimeout(check, throttledUntil - now)` after every
 * check, also with nothing queued and no throttle: the delay is negative, Node clamps it to
 * 1 ms (and prints `TimeoutNegativeWarning` on Node 24), so every broker connection wakes
 * the process about a thousand times a second for as long as it is open (tulios/kafkajs#1704,
 * #1751; the fix was never released). An idle agent with four consumer groups spent 2-3% of
 * a core on it.
 *
 * This replaces that one method with the rule its own comment states: a timer only while
 * requests are queued (every 10 ms, as before) or until a broker throttle ends. Nothing else
 * depends on the timer: a response, a timeout and a push each check the queue themselves.
 * Applied once per process, and only to kafkajs 2.2.4 with the method where it expects it;
 * any other release is left untouched (and told at debug). Every Kafka transport applies it
 * when created; it is exported for processes that also use kafkajs directly.
 */
export function fixKafkajsIdleTimer(logger: Logger = silentLogger): void {
  if (outcome) return;
  outcome = 'left alone';
  const require = createRequire(import.meta.url);
  let RequestQueue: { prototype: RequestQueueInternals } | undefined;
  let version: string | undefined;
  try {
    version = (require('kafkajs/package.json') as { version: string }).version;
    if (version === FIXED_RELEASE) RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  } catch {
    // a bundled or reshaped kafkajs: nothing to fix here
  }
  const proto = RequestQueue?.prototype;
  if (typeof proto?.scheduleCheckPendingRequests !== 'function' || typeof proto.checkPendingRequests !== 'function') {
    logger.debug({ kafkajs: version }, 'kafkajs request-queue timer left as it is (not the release this fix is for)');
    return;
  }
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    const throttledFor = this.throttledUntil - Date.now();
    if (this.pending.length === 0 && throttledFor <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      Math.max(throttledFor, CHECK_PENDING_MS),
    );
  };
  outcome = 'fixed';
}
