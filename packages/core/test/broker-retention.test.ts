import { describe, expect, it } from 'vitest';
import { brokerRetentionSchema, DEFAULT_BROKER_RETENTION, retentionForTopic, runtimeTopicRole } from '../src/adapter.js';
import { runtimeTopics } from '../src/index.js';

describe('broker retention', () => {
  it('finds the runtime topics by their names, and nothing else', () => {
    const topics = runtimeTopics('agents.prod');
    expect(runtimeTopicRole(topics.registry)).toBe('registry');
    expect(runtimeTopicRole(topics.control)).toBe('control');
    expect(runtimeTopicRole(topics.replies)).toBe('replies');
    for (const other of [topics.tasks('echo'), topics.workflows, `${topics.registry}.dlq`, 'registry', '.control', 'orders']) {
      expect(runtimeTopicRole(other), other).toBeUndefined();
    }
  });

  it('defaults: 7 days, registry and control 1 hour, replies 1 day; a topic entry wins; false keeps all', () => {
    const defaults = brokerRetentionSchema.parse(undefined);
    expect(defaults).toEqual(DEFAULT_BROKER_RETENTION);
    const topics = runtimeTopics('ns');
    expect(retentionForTopic(defaults, topics.tasks('x'))).toEqual({ maxAgeMs: 7 * 86_400_000 });
    expect(retentionForTopic(defaults, topics.registry)).toEqual({ maxAgeMs: 3_600_000 });
    expect(retentionForTopic(defaults, topics.control)).toEqual({ maxAgeMs: 3_600_000 });
    expect(retentionForTopic(defaults, topics.replies)).toEqual({ maxAgeMs: 86_400_000 });
    const custom = brokerRetentionSchema.parse({
      maxAgeMs: 60_000,
      registry: false,
      topics: { [topics.workflows]: false, [topics.control]: { maxAgeMs: 5_000 } },
    });
    expect(retentionForTopic(custom, topics.tasks('x'))).toEqual({ maxAgeMs: 60_000 });
    expect(retentionForTopic(custom, topics.registry)).toBe(false);
    expect(retentionForTopic(custom, topics.workflows)).toBe(false);
    expect(retentionForTopic(custom, topics.control)).toEqual({ maxAgeMs: 5_000 });
    expect(retentionForTopic(custom, topics.replies)).toEqual({ maxAgeMs: 86_400_000 });
    expect(retentionForTopic(brokerRetentionSchema.parse(false), topics.registry)).toBe(false);
  });

  it('refuses limits below a second and unknown keys', () => {
    expect(brokerRetentionSchema.safeParse({ maxAgeMs: 10 }).success).toBe(false);
    expect(brokerRetentionSchema.safeParse({ maxMessages: 10 }).success).toBe(false);
  });
});
