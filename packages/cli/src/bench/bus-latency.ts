import type { Transport } from '@a2a-bus/core';
import { deadline, latencyRow } from './harness.js';
import { busMessage } from './payload.js';
import type { BenchRow } from './types.js';

type Deletable = Transport & { deleteTopic?(topic: string): Promise<void> };

/**
 * a2a-bus one at a time: request topic → responder handler (one-way sample) → reply topic →
 * requester handler (round-trip sample). Requester and responder have their own transports
 * (their own connections), as two agents would. The send time rides in a header.
 */
export async function busLatency(backend: string, create: () => Deletable, name: string, count: number, note?: string): Promise<BenchRow[]> {
  const requester = create();
  const responder = create();
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let waiting: (() => void) | undefined;
  try {
    await responder.subscribe(
      `${name}.req`,
      async (d) => {
        const sent = d.envelope.headers?.sent ?? '0';
        oneWay.push(performance.now() - Number(sent));
        await responder.publish(`${name}.rep`, {
          kind: 'message',
          key: d.envelope.key,
          headers: { sent },
          payload: { messageId: `r-${d.envelope.id}`, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] },
        });
      },
      { group: 'responders' },
    );
    await requester.subscribe(
      `${name}.rep`,
      (d) => {
        roundTrip.push(performance.now() - Number(d.envelope.headers?.sent));
        waiting?.();
      },
      { group: 'requester' },
    );
    await requester.connect();
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      await requester.publish(`${name}.req`, busMessage(i, 16, 1_024, { sent: String(performance.now()) }));
      await deadline(arrived, 'a2a-bus round trip');
    }
    const seconds = (performance.now() - started) / 1_000;
    return [
      latencyRow(backend, 'a2a-bus', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, note),
      latencyRow(backend, 'a2a-bus', 'round trip request→reply, sequential', roundTrip, seconds, note, 'round-trip'),
    ];
  } finally {
    await Promise.all([requester.close({ drainTimeoutMs: 1_000 }), responder.close({ drainTimeoutMs: 1_000 })]);
    const admin = create();
    await Promise.allSettled([admin.deleteTopic?.(`${name}.req`), admin.deleteTopic?.(`${name}.rep`)]);
    await admin.close();
  }
}
