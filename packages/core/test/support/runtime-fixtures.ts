import { afterEach } from 'vitest';
import type { A2AAgentCard } from '../../src/a2a/schema.js';

/** An agent card serving `skills`. */
export const card = (name: string, ...skills: string[]): A2AAgentCard => ({
  name,
  description: `${name} agent`,
  version: '1.0.0',
  skills: skills.map((id) => ({ id, name: id, tags: [] })),
});

/** Steps run after each case of the calling file, last pushed first; failures ignored. */
export function useCleanup(): { push(step: () => Promise<unknown>): void } {
  let steps: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of steps.reverse()) await step().catch(() => {});
    steps = [];
  });
  return { push: (step) => void steps.push(step) };
}
