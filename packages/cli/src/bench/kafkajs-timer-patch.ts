import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's RequestQueue re-arms `setTimeout(check, throttledUntil - now)` after every
 * check, even with nothing pending and no throttle: the delay is negative, Node clamps it to
 * 1 ms (and warns TimeoutNegativeWarning on Node 24), so each broker connection wakes the
 * process ~1,000 times a second forever (tulios/kafkajs#1704, #1751). This replaces that one
 * method on the prototype with the intended rule: arm a timer only while requests wait or the
 * broker throttles us. Responses and new pushes re-check the queue themselves, so nothing
 * else changes. Used by the idle benchmark to show what the fix is worth; it is not applied
 * by the adapter.
 */
export function patchKafkajsRequestQueueTimer(): void {
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    const throttledFor = this.throttledUntil - Date.now();
    if (this.pending.length === 0 && throttledFor <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      Math.max(throttledFor, 10),
    );
  };
}

interface RequestQueueInternals {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  throttledUntil: number;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}
