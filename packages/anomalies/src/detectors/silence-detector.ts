import type { HeldTask } from '../work-tracker.js';
import type { Finding } from './finding.js';

/**
 * An agent instance that holds work and has not been heard from (no heartbeat, no task
 * event) for `silentAfterMs`. One alarm per silence: it re-arms when the agent is heard
 * again or holds nothing. Memory: one entry per live agent instance.
 */
export class SilenceDetector {
  private readonly lastSeen = new Map<string, number>();
  private readonly alarmed = new Set<string>();

  private readonly silentAfterMs: number;
  private readonly maxAgents: number;

  constructor(silentAfterMs: number, maxAgents = 10_000) {
    this.silentAfterMs = silentAfterMs;
    this.maxAgents = maxAgents;
  }

  /** The agent instance was heard from at `at` (heartbeat, announcement, a task event). */
  heard(agent: string, at: number): void {
    const known = this.lastSeen.get(agent);
    if (known !== undefined && known >= at) return;
    this.lastSeen.delete(agent);
    this.lastSeen.set(agent, at);
    this.alarmed.delete(agent);
    if (this.lastSeen.size > this.maxAgents) this.lastSeen.delete(this.lastSeen.keys().next().value!);
  }

  /** The agent said goodbye. */
  gone(agent: string): void {
    this.lastSeen.delete(agent);
    this.alarmed.delete(agent);
  }

  /** Last time the agent was heard from, if known. */
  seenAt(agent: string): number | undefined {
    return this.lastSeen.get(agent);
  }

  /** Checks one agent holding `held`; a finding the first time it is found silent. */
  check(agent: string, held: readonly HeldTask[], now: number): Finding | undefined {
    const seen = this.lastSeen.get(agent);
    if (held.length === 0) {
      this.alarmed.delete(agent);
      return undefined;
    }
    if (seen === undefined || now - seen < this.silentAfterMs || this.alarmed.has(agent)) return undefined;
    this.alarmed.add(agent);
    const silentMs = now - seen;
    return {
      observed: silentMs,
      baseline: this.silentAfterMs,
      score: silentMs / this.silentAfterMs,
      window: `silent ${Math.round(silentMs)} ms holding ${held.length} task(s)`,
      examples: held.slice(0, 3).map((task) => task.taskId),
    };
  }
}
