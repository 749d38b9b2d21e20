import { describe, expect, it } from 'vitest';
import { MemoryIdempotencyStore } from '../src/runtime/idempotency.js';

const task = (id: string) => ({ id, contextId: 'wf', status: { state: 'TASK_STATE_COMPLETED' as const } });

describe('MemoryIdempotencyStore', () => {
  it('is bounded in count: the oldest result goes first', async () => {
    const store = new MemoryIdempotencyStore(3);
    for (const id of ['a', 'b', 'c', 'd']) await store.set(id, task(id));
    expect(store.size).toBe(3);
    expect(await store.get('a')).toBeUndefined();
    expect((await store.get('d'))?.id).toBe('d');
  });

  it('is bounded in age: a result older than the TTL is forgotten', async () => {
    const store = new MemoryIdempotencyStore(100, 50);
    await store.set('old', task('old'));
    expect((await store.get('old'))?.id).toBe('old');
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.get('old')).toBeUndefined();
    await store.set('new', task('new'));
    expect(store.size).toBe(1);
  });
});
