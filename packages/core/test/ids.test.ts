import { afterEach, describe, expect, it, vi } from 'vitest';
import { newId } from '../src/ids.js';

const msOf = (id: string): number => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('newId', () => {
  afterEach(() => vi.restoreAllMocks());

  it('past 4,096 ids in one millisecond the timestamp runs ahead: still unique and ordered', () => {
    const now = Date.UTC(2030, 0, 1);
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(msOf(ids[0]!)).toBe(now);
    expect(msOf(ids.at(-1)!)).toBe(now + 2); // 10,000 ids: 4,096 per millisecond
  });

  it('a clock that steps back does not reuse or reorder ids', () => {
    const now = Date.UTC(2031, 0, 1);
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    const before = [newId(), newId()];
    clock.mockReturnValue(now - 5_000);
    const after = [newId(), newId()];
    const ids = [...before, ...after];
    expect(new Set(ids).size).toBe(4);
    expect([...ids].sort()).toEqual(ids);
  });

  it('two processes do not share the random bits', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = "import('./packages/core/src/ids.ts').then(({ newId }) => process.stdout.write(newId().slice(19)))";
    const run = () => execFileSync(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(run()).not.toBe(run());
  });
});
