import { randomUUID } from 'node:crypto';
import type { Transport } from '@a2a-bus/core';
import { expect, it } from 'vitest';
import { delay, textMessage, waitFor } from './conformance/context.js';

export interface AgeRetentionTarget {
  readonly name: string;
  /** A transport whose retention is `{ maxAgeMs: 1_000, intervalMs: 200 }` for every topic. */
  transport(): Transport;
  /** Records the broker holds for the topic now. */
  stored(topic: string): Promise<number>;
  /** Deletes the topic when the file ends. */
  cleanup(topic: string): void;
}

const AGE_MS = 1_000;

/**
 * Age retention that never deletes what a group has not acknowledged (Kafka and NATS, whose
 * brokers' own age limits would): with a 1 s limit trimmed every 200 ms, a long run stays
 * bounded while a live group gets everything; a group that is away keeps its records however
 * old, gets them when it comes back, and only then are they deleted.
 */
export function ageRetentionCases(target: AgeRetentionTarget): void {
  const topicName = (what: string): string => `ret-${what}-${randomUUID().slice(0, 8)}`;

  it(`[${target.name}] with a 1 s age limit a long run stays bounded while a live group gets every message`, async () => {
    const topic = topicName('bounded');
    target.cleanup(topic);
    const t = target.transport();
    const got = new Set<string>();
    await t.subscribe(topic, (d) => void got.add(d.envelope.id), { group: 'live' });
    let published = 0;
    let largest = 0;
    for (let round = 0; round < 30; round += 1) {
      await t.publishBatch(
        topic,
        Array.from({ length: 20 }, (_, j) => textMessage(`k${j % 5}`, `m${round}-${j}`)),
      );
      published += 20;
      await delay(150);
      largest = Math.max(largest, await target.stored(topic));
    }
    await waitFor('the live group to get every message', () => got.size === published, 60_000);
    console.info(`[${target.name}] retention run: ${published} published, at most ${largest} stored (age limit 1 s)`);
    // About 130 messages a second for 5 s; the broker holds a couple of seconds' worth.
    expect(largest).toBeLessThan(published / 2);
    let left = -1;
    for (let tries = 0; tries < 100 && left !== 0; tries += 1) {
      await delay(100);
      left = await target.stored(topic);
    }
    expect(left).toBe(0);
  }, 120_000);

  it(`[${target.name}] a group away longer than the age limit keeps what it has not acknowledged, gets it on return, then it is trimmed`, async () => {
    const topic = topicName('away');
    target.cleanup(topic);
    const t = target.transport();
    const live: string[] = [];
    await t.subscribe(topic, (d) => void live.push(d.envelope.id), { group: 'live' });
    const awayFirst: string[] = [];
    const away = await t.subscribe(topic, (d) => void awayFirst.push(d.envelope.id), { group: 'away' });
    const first = await t.publish(topic, textMessage('k', 'first'));
    await waitFor('both groups to read the first record', () => live.includes(first.id) && awayFirst.includes(first.id), 30_000);
    await away.close(); // acknowledges what it read, then the group is away
    const old = await t.publishBatch(
      topic,
      Array.from({ length: 10 }, (_, j) => textMessage(`k${j}`, `old${j}`)),
    );
    await waitFor('the live group to read the old records', () => old.every((r) => live.includes(r.id)), 30_000);
    await delay(AGE_MS * 3); // past the limit, many rounds
    expect(await target.stored(topic)).toBeGreaterThanOrEqual(old.length);

    const back: string[] = [];
    await t.subscribe(topic, (d) => void back.push(d.envelope.id), { group: 'away' });
    await waitFor('the returning group to get every record it had not read', () => old.every((r) => back.includes(r.id)), 30_000);
    expect(back.sort()).toEqual(old.map((r) => r.id).sort());
    let left = -1;
    for (let tries = 0; tries < 100 && left !== 0; tries += 1) {
      await delay(100);
      left = await target.stored(topic);
    }
    expect(left).toBe(0); // acknowledged by both groups and older than the limit
  }, 120_000);
}
