import { describe, expect, it } from 'vitest';
import { createTransport, InvalidOptionsError, resolveConfig } from '../src/index.js';

describe('createTransport', () => {
  it('picks the backend from the URL scheme', () => {
    expect(resolveConfig('kafka://a:9092,b:9092').backend).toBe('kafka');
    expect(resolveConfig('redis://127.0.0.1:6379').backend).toBe('redis-streams');
    expect(resolveConfig('rediss://host:6380').backend).toBe('redis-streams');
    expect(resolveConfig('nats://127.0.0.1:4222').backend).toBe('nats');
    expect(resolveConfig('memory://').backend).toBe('memory');
    expect(resolveConfig({ backend: 'kafka', brokers: ['x:1'] })).toEqual({ backend: 'kafka', options: { brokers: ['x:1'] } });
  });

  it('names the field when the configuration is wrong', () => {
    expect(() => resolveConfig('amqp://x')).toThrow(/invalid option `url`: unknown scheme in "amqp:\/\/x"/);
    expect(() => resolveConfig({ backend: 'rabbit' as never })).toThrow(InvalidOptionsError);
  });

  it('loads the adapter on demand and validates its options at construction', async () => {
    const transport = await createTransport('memory://create-transport-test');
    expect(transport.backend).toBe('memory');
    await transport.close();
    const error = await createTransport({ backend: 'memory', partitions: 0 }).catch((e: unknown) => e);
    expect(InvalidOptionsError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionsError).field).toBe('partitions');
  });
});
