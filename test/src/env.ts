import { describe, it } from 'vitest';
import { connect } from 'node:net';

/** True on CI, where a broker-backed suite that cannot run is a failure, not a skip. */
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Decides whether a broker-backed suite runs. Off CI an absent broker skips the suite with
 * the reason in its name; on CI it throws, so the run fails instead of passing quietly.
 */
export async function requireBroker(name: string, host: string, port: number): Promise<string | undefined> {
  if (await reachable(host, port)) return undefined;
  const reason = `${name} is not reachable at ${host}:${port}`;
  if (isCI) throw new Error(`${reason}; on CI every broker-backed suite must run`);
  return reason;
}

/**
 * The visible stand-in for a broker-backed suite that cannot run here (off CI only:
 * `requireBroker` throws on CI): one skipped case whose name says why.
 */
export function skippedSuite(title: string, reason: string | undefined): void {
  describe.skipIf(reason !== undefined)(`${title} — skipped: ${reason}`, () => {
    it('needs its broker', () => {});
  });
}
