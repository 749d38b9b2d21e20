/** Bounded: a benchmark scenario that has not finished by then fails instead of hanging. */
export const SCENARIO_TIMEOUT_MS = 30_000;

/** Runs `send(i)` for i in [0, count) with at most `window` in flight. */
export async function pipelined(count: number, window: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function deadline<T>(promise: Promise<T>, what: string, ms = SCENARIO_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
