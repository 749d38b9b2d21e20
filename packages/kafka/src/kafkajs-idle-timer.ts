import { createRequire } from 'node:module';
import { silentLogger, type Logger } from '@a2a-bus/core';

/** The one kafkajs release whose RequestQueue this fixes; any other is left as it is. */
const FIXED_RELEASE = '2.2.4';
/** kafkajs's own interval for re-checking requests queued behind `maxInFlightRequests`. */
const CHECK_PENDING_MS = 10;

interface SocketRequestInternals {
  correlationId: number;
  /** When the request went out on the socket (`null` while it waits in the queue). */
  sentAt: number | null;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueInternals {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  throttledUntil: number;
  pending: unknown[];
  inflight: Map<number, SocketRequestInternals>;
  enforceRequestTimeout: boolean;
  /** kafkajs's handle of its 100 ms interval; here, of the one timer armed for the earliest deadline. */
  requestTimeoutIntervalId: NodeJS.Timeout | undefined;
  /** When that timer fires (added by this fix). */
  requestTimeoutCheckAt?: number | undefined;
  isConnected(): boolean;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  scheduleRequestTimeoutCheck(): void;
  sendSocketRequest(request: SocketRequestInternals): void;
  destroy(): void;
}

let outcome: 'fixed' | 'left alone' | undefined;

/**
 * kafkajs 2.2.4 wakes an idle process far more often than its work needs, through two
 * timers of its RequestQueue (one per broker connection):
 *
 * - It re-arms `setTimeout(check, throttledUntil - now)` after every check, also with nothing
 *   queued and no throttle: the delay is negative, Node clamps it to 1 ms (and prints
 *   `TimeoutNegativeWarning` on Node 24), so every connection wakes the process about a
 *   thousand times a second for as long as it is open (tulios/kafkajs#1704, #1751; the fix
 *   was never released). An idle agent with four consumer groups spent 2-3% of a core on it.
 *   Here: a timer only while requests are queued (every 10 ms, as before) or until a broker
 *   throttle ends. Nothing else depends on it: a response, a timeout and a push each check
 *   the queue themselves.
 * - It enforces request timeouts with a `setInterval` of 100 ms per connection, which scans
 *   the requests in flight, also when there are none: ten wake-ups a second per connection,
 *   about 40 a second for an idle consumer. With that timer alone fixed, a bare idle kafkajs
 *   consumer still spent 0.5-0.7% of a core, with 8 requests in 20 s. Here: one timer per
 *   connection, armed for the earliest deadline of a request in flight (re-armed when it
 *   fires, earlier when a request with a nearer deadline goes out), none while nothing is in
 *   flight. A request times out as before (`Date.now() - sentAt > requestTimeout`), at its
 *   deadline rather than up to 100 ms after it; a connection found disconnected when it
 *   fires stops checking, as kafkajs's interval does.
 *
 * Applied once per process, and only to kafkajs 2.2.4 with the methods where it expects
 * them; any other release is left untouched (and told at debug). Every Kafka transport
 * applies it when created; it is exported for processes that also use kafkajs directly.
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
  const expected = ['scheduleCheckPendingRequests', 'checkPendingRequests', 'scheduleRequestTimeoutCheck', 'sendSocketRequest', 'destroy'] as const;
  if (!proto || expected.some((method) => typeof proto[method] !== 'function')) {
    logger.debug({ kafkajs: version }, 'kafkajs request-queue timers left as they are (not the release this fix is for)');
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

  const { sendSocketRequest, destroy } = proto;
  // Called when the connection is up: kafkajs starts its interval here. Nothing is due yet
  // unless requests survived a reconnect.
  proto.scheduleRequestTimeoutCheck = function scheduleRequestTimeoutCheck(this: RequestQueueInternals) {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    for (const request of this.inflight.values()) armRequestTimeoutCheck(this, request);
  };
  proto.sendSocketRequest = function sendRequestWithDeadline(this: RequestQueueInternals, request: SocketRequestInternals) {
    sendSocketRequest.call(this, request);
    if (this.enforceRequestTimeout && this.inflight.has(request.correlationId)) armRequestTimeoutCheck(this, request);
  };
  proto.destroy = function destroyTimers(this: RequestQueueInternals) {
    destroy.call(this);
    this.requestTimeoutIntervalId = undefined;
    this.requestTimeoutCheckAt = undefined;
  };
  outcome = 'fixed';
}

/** Arms the queue's timeout check for `request`'s deadline, unless one is armed no later than that. */
function armRequestTimeoutCheck(queue: RequestQueueInternals, request: SocketRequestInternals): void {
  if (request.sentAt === null) return;
  const due = request.sentAt + request.requestTimeout + 1; // kafkajs times out past the deadline, not at it
  if (queue.requestTimeoutCheckAt !== undefined && queue.requestTimeoutCheckAt <= due) return;
  clearTimeout(queue.requestTimeoutIntervalId);
  queue.requestTimeoutCheckAt = due;
  queue.requestTimeoutIntervalId = setTimeout(() => checkRequestTimeouts(queue), Math.max(0, due - Date.now()));
}

/** kafkajs's interval body, run at the earliest deadline: times out what is past it, and arms for the next one. */
function checkRequestTimeouts(queue: RequestQueueInternals): void {
  queue.requestTimeoutIntervalId = undefined;
  queue.requestTimeoutCheckAt = undefined;
  const connected = queue.isConnected(); // a connection gone stops checking, as kafkajs's interval does
  if (!connected) queue.destroy();
  const now = Date.now();
  for (const request of queue.inflight.values()) {
    if (request.sentAt !== null && now - request.sentAt > request.requestTimeout) request.timeoutRequest();
    else if (connected) armRequestTimeoutCheck(queue, request);
  }
}
