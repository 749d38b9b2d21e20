import { parseOptions } from '@a2a-bus/core/adapter';
import { z } from 'zod';

export const backends = ['memory', 'kafka', 'redis', 'nats'] as const;
export type ChaosBackend = (typeof backends)[number];

const chaosOptionsSchema = z.object({
  backend: z.enum(backends).default('memory'),
  /** Workflows dispatched. Each runs `rounds` requests through the 3-step chain. */
  workflows: z.int().min(1).default(200),
  /** Requests per workflow, published back to back under the same key: what per-key order is checked on. */
  rounds: z.int().min(1).max(10).default(2),
  /** Worker processes per capability. */
  workers: z.int().min(1).max(20).default(3),
  /** Workflows in flight at once. */
  concurrency: z.int().min(1).default(48),
  kills: z.int().min(0).default(3),
  pauses: z.int().min(0).default(1),
  brokerRestarts: z.int().min(0).default(1),
  seed: z.int().default(1),
  /** Typical time of one step (±50%). */
  handlerMs: z.int().min(0).default(20),
  /** Workflows whose last step is poison (fails every attempt). */
  poison: z.int().min(0).default(3),
  /** Workflows whose last step runs `longMs`. */
  long: z.int().min(0).default(1),
  /** Default: well past the backend's ack timeout / lease / session. */
  longMs: z.int().min(0).optional(),
  /** How long a paused worker stays stopped. Default: past the backend's lease or session. */
  pauseMs: z.int().min(0).optional(),
  /** Invariant 5: held work resumes within this after a SIGKILL. */
  recoveryBoundMs: z.int().min(1).default(10_000),
  /** Workflows whose `audit()` is checked against the journals (default: all). */
  auditSample: z.int().min(0).optional(),
  /** Give up on a workflow after this long (it then counts as lost). */
  timeoutMs: z.int().min(1_000).default(300_000),
  /** Use this broker instead of starting one (no broker restarts then). */
  url: z.string().optional(),
  /** Extra transport options (JSON), e.g. shorter leases. */
  transportOptions: z.record(z.string(), z.unknown()).default({}),
  /** Where journals go. Default: a fresh temporary directory. */
  dir: z.string().optional(),
  /** First port for the run's own broker. */
  port: z.int().min(1_024).max(65_000).default(40_000),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('error'),
});

export type ChaosOptions = z.output<typeof chaosOptionsSchema>;
export type ChaosOptionsInput = z.input<typeof chaosOptionsSchema>;

export function parseChaosOptions(input: ChaosOptionsInput): ChaosOptions {
  return parseOptions('chaos', chaosOptionsSchema, input);
}

/** Per backend: what the defaults of its timers make "far past the lease/session". */
export function backendDefaults(backend: ChaosBackend): { longMs: number; pauseMs: number } {
  switch (backend) {
    case 'kafka':
      return { longMs: 20_000, pauseMs: 10_000 }; // session timeout 6 s
    case 'nats':
      return { longMs: 20_000, pauseMs: 8_000 }; // AckWait 5 s, lease 5 s
    case 'redis':
      return { longMs: 35_000, pauseMs: 8_000 }; // lease 5 s, claim idle 30 s
    default:
      return { longMs: 2_000, pauseMs: 0 };
  }
}
