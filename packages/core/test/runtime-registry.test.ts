import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { A2AAgentCard } from '../src/a2a/schema.js';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../src/envelope.js';
import { userText } from '../src/runtime/a2a.js';
import { AgentRegistry } from '../src/runtime/registry.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import type { Delivery, MessageHandler, ReplayOptions, ReplayRecord, SubscribeOptions, Transport } from '../src/transport.js';
import { trustHeaders } from '../src/trust/signature.js';
import { recordingLogger } from './support/recording-logger.js';
import { card } from './support/runtime-fixtures.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const TTL = 1_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

function announcement(
  instanceId: string,
  type: 'agent-up' | 'agent-heartbeat' | 'agent-down',
  options: { card?: A2AAgentCard; inFlight?: string; signer?: string; noInstanceHeader?: boolean } = {},
): Envelope {
  return createEnvelope({
    kind: 'agent-card',
    key: instanceId,
    payload: options.card ?? card('echo', 'text.echo'),
    headers: {
      [runtimeHeaders.type]: type,
      ...(options.noInstanceHeader ? {} : { [runtimeHeaders.instance]: instanceId }),
      ...(options.inFlight !== undefined ? { [runtimeHeaders.inFlight]: options.inFlight } : {}),
      ...(options.signer ? { [trustHeaders.signer]: options.signer } : {}),
    },
  } as EnvelopeInput);
}

/** A transport with a registry topic: what a case stored replays, `live()` pushes to the subscriber. */
function registryTransport(options: { seek?: boolean; replayed?: ReplayRecord[]; duringReplay?: () => void } = {}) {
  const subscribed: Array<{ topic: string; options: SubscribeOptions }> = [];
  const replays: Array<{ topic: string; options: ReplayOptions | undefined }> = [];
  let handler: MessageHandler | undefined;
  let closed = 0;
  const transport = {
    backend: 'fake',
    capabilities: { replayFromTimestamp: { support: options.seek === false ? 'none' : 'native' } },
    subscribe: async (topic: string, h: MessageHandler, subscribeOptions: SubscribeOptions) => {
      subscribed.push({ topic, options: subscribeOptions });
      handler = h;
      return {
        close: async () => {
          closed += 1;
        },
      };
    },
    replay: async function* (topic: string, replayOptions?: ReplayOptions) {
      replays.push({ topic, options: replayOptions });
      const records = options.replayed ?? [];
      for (const [index, record] of records.entries()) {
        if (index === 1) options.duringReplay?.();
        yield record;
      }
      if (records.length < 2) options.duringReplay?.();
    },
  } as unknown as Transport;
  const live = (envelope: Envelope): void => {
    void handler!({ envelope } as Delivery);
  };
  return { transport, subscribed, replays, live, closedCount: () => closed };
}

const stored = (envelope: Envelope | undefined, timestamp: number): ReplayRecord => ({
  topic: 'ns.registry',
  partition: 0,
  offset: '0',
  timestamp,
  key: envelope?.key ?? 'raw',
  ...(envelope ? { envelope } : {}),
});

function registry(transport: Transport, logger = recordingLogger()) {
  return new AgentRegistry({ transport, topic: 'ns.registry', instanceId: 'me', ttlMs: TTL, logger });
}

describe('AgentRegistry: start', () => {
  it('subscribes live from the latest record with an ephemeral group of its own, then replays the last TTL', async () => {
    const t = registryTransport();
    await registry(t.transport).start();
    expect(t.subscribed).toEqual([{ topic: 'ns.registry', options: { group: 'registry-me', startFrom: 'latest', ephemeral: true, deadLetterTopic: false } }]);
    expect(t.replays).toEqual([{ topic: 'ns.registry', options: { from: { timestamp: T0 - TTL } } }]);
  });

  it('replays from the beginning when the backend cannot seek by time', async () => {
    const t = registryTransport({ seek: false });
    await registry(t.transport).start();
    expect(t.replays).toEqual([{ topic: 'ns.registry', options: { from: { beginning: true } } }]);
  });

  it('counts a replayed announcement as seen when the broker stored it, never later than now', async () => {
    const t = registryTransport({
      replayed: [
        stored(announcement('old', 'agent-up'), T0 - TTL - 1),
        stored(undefined, T0),
        stored(announcement('recent', 'agent-up'), T0 - TTL),
        stored(announcement('future', 'agent-up'), T0 + 60_000),
      ],
    });
    const r = registry(t.transport);
    await r.start();
    expect(r.size).toBe(3);
    expect(
      r
        .live()
        .map((a) => [a.instanceId, a.lastSeen])
        .sort(),
    ).toEqual([
      ['future', T0],
      ['recent', T0 - TTL],
    ]);
  });

  it('applies what arrived live during the replay after it, in order', async () => {
    let t!: ReturnType<typeof registryTransport>;
    t = registryTransport({
      // The live goodbye of "a" arrives before the replay reaches its (older) agent-up.
      replayed: [stored(announcement('b', 'agent-up'), T0 - 10), stored(announcement('a', 'agent-up'), T0 - 10)],
      duringReplay: () => {
        t.live(announcement('a', 'agent-down'));
        t.live(announcement('c', 'agent-up'));
      },
    });
    const r = registry(t.transport);
    await r.start();
    expect(
      r
        .live()
        .map((a) => a.instanceId)
        .sort(),
    ).toEqual(['b', 'c']);
    // After the replay, live announcements apply at once.
    t.live(announcement('d', 'agent-up'));
    expect(r.serves('text.echo')).toBe(true);
    expect(r.live().map((a) => a.instanceId)).toContain('d');
    expect(r.size).toBe(4);
  });
});

describe('AgentRegistry: the view', () => {
  it('keeps one entry per instance: card, capabilities, when seen, in flight and signer', async () => {
    const t = registryTransport();
    const logger = recordingLogger();
    const r = registry(t.transport, logger);
    await r.start();
    t.live(announcement('i1', 'agent-up', { card: card('multi', 's1', 's2'), inFlight: '3', signer: 'KEY' }));
    vi.setSystemTime(T0 + 10);
    t.live(announcement('i2', 'agent-heartbeat', { inFlight: 'x' }));
    t.live(announcement('k3', 'agent-up', { noInstanceHeader: true }));
    expect(r.live()).toEqual([
      { instanceId: 'i1', card: card('multi', 's1', 's2'), capabilities: ['s1', 's2'], lastSeen: T0, down: false, inFlight: 3, publicKey: 'KEY' },
      { instanceId: 'i2', card: card('echo', 'text.echo'), capabilities: ['text.echo'], lastSeen: T0 + 10, down: false },
      { instanceId: 'k3', card: card('echo', 'text.echo'), capabilities: ['text.echo'], lastSeen: T0 + 10, down: false },
    ]);
    expect(logger.lines).toEqual([
      { level: 'debug', fields: { agent: 'multi', instanceId: 'i1', down: false }, message: 'agent seen' },
      { level: 'debug', fields: { agent: 'echo', instanceId: 'i2', down: false }, message: 'agent seen' },
      { level: 'debug', fields: { agent: 'echo', instanceId: 'k3', down: false }, message: 'agent seen' },
    ]);
    t.live(announcement('i2', 'agent-down'));
    expect(logger.lines.at(-1)).toEqual({ level: 'debug', fields: { agent: 'echo', instanceId: 'i2', down: true }, message: 'agent down' });
  });

  it('ignores envelopes that are no agent card', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(createEnvelope({ kind: 'message', key: 'x', payload: userText('hello'), headers: { [runtimeHeaders.type]: 'agent-up' } }));
    expect(r.size).toBe(0);
  });

  it('an agent is live for exactly one TTL after it was last heard from', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('i1', 'agent-up'));
    vi.setSystemTime(T0 + TTL);
    expect(r.live()).toHaveLength(1);
    expect(r.serves('text.echo')).toBe(true);
    expect(r.serves('text.other')).toBe(false);
    vi.setSystemTime(T0 + TTL + 1);
    expect(r.live()).toEqual([]);
    expect(r.serves('text.echo')).toBe(false);
    // A heartbeat brings it back.
    t.live(announcement('i1', 'agent-heartbeat'));
    expect(r.live()).toHaveLength(1);
  });

  it('a goodbye is a tombstone: heartbeats (and its echo) cannot revive it, a new agent-up can', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('i1', 'agent-up'));
    t.live(announcement('i1', 'agent-down'));
    expect(r.live()).toEqual([]);
    t.live(announcement('i1', 'agent-heartbeat'));
    t.live(announcement('i1', 'agent-down'));
    expect(r.live()).toEqual([]);
    expect(r.size).toBe(1);
    t.live(announcement('i1', 'agent-up'));
    expect(r.live().map((a) => a.instanceId)).toEqual(['i1']);
  });

  it('an older announcement does not move the last-seen time back', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    vi.setSystemTime(T0 + 500);
    r.observe(announcement('i1', 'agent-up'));
    vi.setSystemTime(T0);
    r.observe(announcement('i1', 'agent-heartbeat'));
    expect(r.live()[0]!.lastSeen).toBe(T0 + 500);
  });

  it('forgets an instance not heard from for two TTLs, tombstones included', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('alive', 'agent-up'));
    t.live(announcement('gone', 'agent-up'));
    t.live(announcement('gone', 'agent-down'));
    vi.setSystemTime(T0 + 2 * TTL);
    t.live(announcement('alive', 'agent-heartbeat'));
    r.live();
    expect(r.size).toBe(2);
    vi.setSystemTime(T0 + 2 * TTL + 1);
    r.live();
    expect(r.size).toBe(1);
  });

  it('also forgets old instances every 1 024 announcements, without anyone asking', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('gone', 'agent-up'));
    vi.setSystemTime(T0 + 3 * TTL);
    r.live(); // prunes "gone" and resets the count
    expect(r.size).toBe(0);
    t.live(announcement('gone', 'agent-up'));
    vi.setSystemTime(T0 + 6 * TTL);
    // 1 announcement counted so far; 1 022 more keep "gone" in the map...
    for (let i = 0; i < 1_022; i += 1) t.live(announcement('busy', 'agent-heartbeat'));
    expect(r.size).toBe(2);
    // ...the 1 024th prunes it.
    t.live(announcement('busy', 'agent-heartbeat'));
    expect(r.size).toBe(1);
  });
});

describe('AgentRegistry: a stalled feed', () => {
  /** This bus announces `me`: sent, then (when `echo`) back through the feed. */
  const heartbeat = (r: AgentRegistry, t: ReturnType<typeof registryTransport>, echo: boolean): void => {
    const own = announcement('me/agent', 'agent-heartbeat');
    r.sending(own);
    r.observe(own);
    if (echo) t.live(own);
  };

  it('keeps the agents last known live while its own heartbeats do not come back, and moves on when they do', async () => {
    const logger = recordingLogger();
    const t = registryTransport();
    const r = registry(t.transport, logger);
    await r.start();
    heartbeat(r, t, true); // the feed is current at T0
    t.live(announcement('other', 'agent-up'));
    // The feed stalls: our heartbeats go out every third of the TTL and never come back.
    for (const at of [TTL / 3, (2 * TTL) / 3, TTL, 1.5 * TTL]) {
      vi.setSystemTime(T0 + at);
      heartbeat(r, t, false);
    }
    expect(
      r
        .live()
        .map((a) => a.instanceId)
        .sort(),
    ).toEqual(['me/agent', 'other']);
    expect(r.dropouts()).toEqual([]);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'registry feed stalled: own heartbeats not coming back; keeping the agents last known live',
    ]);
    // The feed is back: our newest heartbeat returns (older ones were skipped); "other" is silent.
    heartbeat(r, t, true);
    expect(r.live().map((a) => a.instanceId)).toEqual(['me/agent']);
    expect(r.dropouts().map((a) => a.instanceId)).toEqual(['other']);
    expect(logger.lines.at(-1)?.message).toBe('registry feed current again');
  });

  it('goes by its own clock while the feed keeps up, and when it announces nothing', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('other', 'agent-up'));
    vi.setSystemTime(T0 + TTL + 1);
    expect(r.live()).toEqual([]); // nothing of its own sent: it cannot tell a stall from a death
    const t2 = registryTransport();
    const r2 = registry(t2.transport);
    vi.setSystemTime(T0);
    await r2.start();
    t2.live(announcement('other', 'agent-up'));
    for (let at = 0; at <= TTL; at += TTL / 4) {
      vi.setSystemTime(T0 + at);
      heartbeat(r2, t2, true);
    }
    vi.setSystemTime(T0 + TTL + 1);
    expect(r2.live().map((a) => a.instanceId)).toEqual(['me/agent']); // its heartbeats come back: "other" is gone
  });
});

describe('AgentRegistry: dropouts', () => {
  it('reports an agent that fell silent once, again only after it was heard from; goodbyes are no dropouts', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('silent', 'agent-up', { card: card('quiet', 'q') }));
    t.live(announcement('polite', 'agent-up'));
    t.live(announcement('polite', 'agent-down'));
    vi.setSystemTime(T0 + TTL);
    expect(r.dropouts()).toEqual([]);
    vi.setSystemTime(T0 + TTL + 1);
    const lost = r.dropouts();
    expect(lost.map((a) => [a.instanceId, a.card.name])).toEqual([['silent', 'quiet']]);
    expect(r.dropouts()).toEqual([]);
    t.live(announcement('silent', 'agent-heartbeat', { card: card('quiet', 'q') }));
    expect(r.dropouts()).toEqual([]);
    vi.setSystemTime(T0 + 2 * TTL + 2);
    expect(r.dropouts().map((a) => a.instanceId)).toEqual(['silent']);
  });

  it('forgets a reported instance once it is forgotten, so it can be reported again if it comes back', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    t.live(announcement('flaky', 'agent-up'));
    vi.setSystemTime(T0 + TTL + 1);
    expect(r.dropouts().map((a) => a.instanceId)).toEqual(['flaky']);
    vi.setSystemTime(T0 + 2 * TTL + 1);
    r.live(); // forgets it
    expect(r.size).toBe(0);
    expect(r.dropouts()).toEqual([]);
    // It comes back, then falls silent again: reported again.
    r.observe(announcement('flaky', 'agent-up'));
    vi.setSystemTime(T0 + 3 * TTL + 2);
    expect(r.dropouts().map((a) => a.instanceId)).toEqual(['flaky']);
  });
});

describe('AgentRegistry: waiting for an agent', () => {
  it('resolves once an agent serving the capability is live, not before', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    let done = false;
    const waiting = r.waitFor('text.echo').then(() => (done = true));
    t.live(announcement('other', 'agent-up', { card: card('other', 'text.other') }));
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toBe(false);
    t.live(announcement('echo', 'agent-up'));
    await waiting;
    expect(done).toBe(true);
    // Already served: resolves at once.
    await r.waitFor('text.echo');
  });

  it('resolves when the signal aborts, and stops listening to it', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    const controller = new AbortController();
    const aborted = r.waitFor('text.none', controller.signal);
    controller.abort();
    await aborted;
    await r.waitFor('text.none', AbortSignal.abort());
    // A signal that reports aborted without firing: only a wake-up makes the loop look again.
    const listeners = new Set<unknown>();
    const quiet = {
      aborted: false,
      addEventListener: (_type: string, listener: unknown) => listeners.add(listener),
      removeEventListener: (_type: string, listener: unknown) => listeners.delete(listener),
    } as unknown as AbortSignal & { aborted: boolean };
    let woke = false;
    const waiting = r.waitFor('text.none', quiet).then(() => (woke = true));
    await Promise.resolve();
    expect(listeners.size).toBe(1);
    (quiet as { aborted: boolean }).aborted = true;
    await Promise.resolve();
    expect(woke).toBe(false);
    // Any announcement wakes the waiters; the stop does too.
    t.live(announcement('other', 'agent-up', { card: card('other', 'text.other') }));
    await waiting;
    expect(woke).toBe(true);
    expect(listeners.size).toBe(0);
  });

  it('stop closes the subscription and wakes every waiter', async () => {
    const t = registryTransport();
    const r = registry(t.transport);
    await r.start();
    const quiet = { aborted: false, addEventListener: () => {}, removeEventListener: () => {} } as unknown as AbortSignal;
    let woke = 0;
    const waiting = [r.waitFor('text.a', quiet), r.waitFor('text.b', quiet)].map((w) => w.then(() => (woke += 1)));
    await Promise.resolve();
    (quiet as { aborted: boolean }).aborted = true;
    await Promise.resolve();
    expect(woke).toBe(0);
    await r.stop();
    await Promise.all(waiting);
    expect(woke).toBe(2);
    expect(t.closedCount()).toBe(1);
  });
});
