import { randomUUID } from 'node:crypto';
import type { CapabilityName, Delivery, EnvelopeInput, MessageHandler, SubscribeOptions, Subscription, Transport, TransportCapabilities } from '@a2a-bus/core';
import { afterEach, it } from 'vitest';
import type { ConformanceOptions, TransportOverrides } from './options.js';

/** What each group of cases gets: scaled timers, fresh topics, tracked transports. */
export interface SuiteContext {
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  readonly options: ConformanceOptions;
  /** `ms` scaled by the timeout multiplier. */
  ms(ms: number): number;
  /** How long "nothing more arrives" waits: the declared `redeliveryBoundMs`, scaled. */
  redeliveryBound(): number;
  /** A topic of its own for the running case. */
  topic(caseName: string): string;
  /** A new client (one "process"); closed after the case. */
  transport(overrides?: TransportOverrides): Promise<Transport>;
  /** Subscribe with the suite defaults merged in. */
  subscribe(transport: Transport, topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription>;
  /**
   * Registers a case, gated on capabilities: when the transport declares one of them
   * `none`, the case is skipped with the reason in its name.
   */
  test(title: string, requires: readonly CapabilityName[], fn: () => Promise<void>, timeoutMs?: number): void;
}

export function createContext(options: ConformanceOptions, capabilities: TransportCapabilities): SuiteContext {
  const multiplier = options.timeoutMultiplier ?? 1;
  if (typeof options.redeliveryBoundMs !== 'number' || !Number.isFinite(options.redeliveryBoundMs) || options.redeliveryBoundMs < 0) {
    // Without it, a negative check would wait a guess and a lost ack could pass unseen.
    throw new TypeError(
      `[${options.name}] conformance: redeliveryBoundMs must be the time an unsettled message takes to be redelivered (ms), got ${String(options.redeliveryBoundMs)}`,
    );
  }
  let transports: Transport[] = [];
  let topics: string[] = [];

  afterEach(async () => {
    const open = transports;
    transports = [];
    await Promise.allSettled(open.map((t) => t.close({ drainTimeoutMs: 1_000 })));
    const used = topics;
    topics = [];
    await options.cleanup?.(used);
  });

  return {
    name: options.name,
    capabilities,
    options,
    ms: (ms) => Math.round(ms * multiplier),
    redeliveryBound: () => Math.round(options.redeliveryBoundMs * multiplier),
    topic(caseName) {
      const topic = options.topicName?.(caseName) ?? `conf-${caseName}-${randomUUID().slice(0, 8)}`;
      topics.push(topic, `${topic}.dlq`);
      return topic;
    },
    async transport(overrides) {
      const transport = await options.createTransport(overrides);
      transports.push(transport);
      return transport;
    },
    subscribe(transport, topic, handler, subscribeOptions) {
      return transport.subscribe(topic, handler, { ...options.subscribeDefaults, ...subscribeOptions });
    },
    test(title, requires, fn, timeoutMs = 30_000) {
      const missing = requires.filter((name) => capabilities[name].support === 'none');
      const fullTitle = `[${options.name}] ${title}`;
      const reason = missing.length > 0 ? ` — skipped: ${options.name} declares ${missing.join(', ')} unsupported` : '';
      it.skipIf(missing.length > 0)(`${fullTitle}${reason}`, fn, Math.round(timeoutMs * multiplier));
    },
  };
}

/** A valid A2A message envelope; `seq` and `tag` travel in the text so handlers can check order. */
export function textMessage(key: string, text: string, extra: Partial<EnvelopeInput> = {}): EnvelopeInput {
  return {
    kind: 'message',
    key,
    payload: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] },
    ...extra,
  } as EnvelopeInput;
}

export function textOf(delivery: Delivery): string {
  const { envelope } = delivery;
  if (envelope.kind !== 'message') throw new Error(`expected a message, got ${envelope.kind}`);
  return envelope.payload.parts[0]?.text ?? '';
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Every record of a topic, by replay from the beginning. */
export async function replayAll(transport: Transport, topic: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of transport.replay(topic)) if (record.envelope) ids.push(record.envelope.id);
  return ids;
}

/** Waits until the group's members hold every partition between them, none twice. */
export async function waitForAssignment(subscriptions: readonly Subscription[], partitions: number, timeoutMs: number): Promise<void> {
  // Every member holds a share (when there are enough partitions to go round): a balancer that
  // has given all partitions to the first member and not yet to the one that just joined is
  // not settled, and a case that publishes then would find its second member idle.
  const everyoneHolds = subscriptions.length <= partitions;
  await waitFor(
    `${subscriptions.length} members to share ${partitions} partitions`,
    () => {
      const held = subscriptions.flatMap((s) => [...s.assignedPartitions()]);
      if (everyoneHolds && subscriptions.some((s) => s.assignedPartitions().length === 0)) return false;
      return held.length === partitions && new Set(held).size === partitions;
    },
    timeoutMs,
  );
}

/**
 * Per-key order under at-least-once: a key's message n+1 is never handled before n was,
 * and one key never runs in two handlers at once. A redelivery may go back (replay from
 * the last commit), but never skip ahead.
 */
export class OrderChecker {
  private readonly highest = new Map<string, number>();
  private readonly running = new Map<string, number>();
  readonly violations: string[] = [];
  concurrent = 0;
  maxConcurrent = 0;
  readonly keysSeenConcurrently = new Set<string>();

  enter(key: string, seq: number): void {
    const top = this.highest.get(key) ?? -1;
    if (seq > top + 1) this.violations.push(`key ${key}: got #${seq} before #${top + 1}`);
    this.highest.set(key, Math.max(top, seq));
    const runningForKey = (this.running.get(key) ?? 0) + 1;
    if (runningForKey > 1) this.violations.push(`key ${key}: #${seq} ran while another message of the key was running`);
    this.running.set(key, runningForKey);
    this.concurrent += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    if (this.running.size > 1) for (const k of this.running.keys()) this.keysSeenConcurrently.add(k);
  }

  leave(key: string): void {
    const left = (this.running.get(key) ?? 1) - 1;
    if (left === 0) this.running.delete(key);
    else this.running.set(key, left);
    this.concurrent -= 1;
  }
}

/** `key/seq` text used by ordering cases. */
export function seqText(key: string, seq: number): string {
  return `${key}/${seq}`;
}

export function parseSeq(text: string): { key: string; seq: number } {
  const slash = text.lastIndexOf('/');
  return { key: text.slice(0, slash), seq: Number(text.slice(slash + 1)) };
}
