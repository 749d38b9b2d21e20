import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inRange } from './suite/helpers.js';

const run = promisify(execFile);
const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('packages/a2a-js/README.md', root), 'utf8');

/** The fenced block after `<!-- snippet:<name> ... -->`. */
function snippet(name: string): string {
  const start = readme.indexOf(`<!-- snippet:${name}`);
  if (start < 0) throw new Error(`README has no snippet ${name}`);
  const open = readme.indexOf('```', start);
  const body = readme.indexOf('\n', open) + 1;
  return readme.slice(body, readme.indexOf('\n```', body));
}

/** A port of the interop range nobody listens on right now. */
function freePort(): Promise<number> {
  return inRange(
    (port) =>
      new Promise<number>((resolve, reject) => {
        const probe = createServer().once('error', reject);
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(port)));
      }),
  );
}

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, PORT: String(await freePort()) },
    timeout: 60_000,
  });
  return stdout;
}

describe('a2a-js README', () => {
  for (const name of ['inbound', 'outbound']) {
    it(`shows examples/${name}.ts exactly as the file that runs`, () => {
      expect(snippet(name)).toBe(readFileSync(new URL(`packages/a2a-js/examples/${name}.ts`, root), 'utf8').trimEnd());
    });
  }

  it('the inbound example answers over JSON-RPC and over the bus binding', async () => {
    const out = await example('packages/a2a-js/examples/inbound.ts');
    expect(out).toContain('JSONRPC HELLO, A2A');
    expect(out).toContain('urn:a2a-bus:binding:log:1.0 HELLO, A2A');
  }, 60_000);

  it('the outbound example reaches the SDK HTTP server from a bus dispatch', async () => {
    const out = await example('packages/a2a-js/examples/outbound.ts');
    expect(out).toContain('TASK_STATE_COMPLETED hello, bus');
    expect(out).toContain('audited');
  }, 60_000);

  describe('the curl snippets, against `a2a-bus gateway` (what `bash scripts/dev.sh gateway` runs)', () => {
    let gateway: ChildProcess | undefined;
    let url = '';
    afterAll(async () => {
      if (!gateway || gateway.exitCode !== null) return;
      const exited = new Promise((resolve) => gateway!.once('exit', resolve));
      gateway.kill('SIGINT');
      await exited;
    });

    it('the gateway command starts', async () => {
      const port = await freePort();
      gateway = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', 'gateway', '--port', String(port)], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        gateway!.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('skills')) resolve();
        });
        gateway!.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
      });
      url = `http://127.0.0.1:${port}`;
      expect(out).toContain(`A2A gateway on ${url} in front of 3 agents`);
    }, 60_000);

    it('SendMessage with curl completes the demo pipeline', async () => {
      const { stdout } = await run('bash', ['-c', snippet('curl-send')], { env: { ...process.env, GATEWAY: url }, timeout: 30_000 });
      const answer = JSON.parse(stdout) as { result: { task: { status: { state: string }; artifacts: Array<{ parts: Array<{ text: string }> }> } } };
      expect(answer.result.task.status.state).toBe('TASK_STATE_COMPLETED');
      expect(answer.result.task.artifacts[0]!.parts[0]!.text).toContain('label=engineering');
    }, 30_000);

    it('SendStreamingMessage with curl streams SSE events, the task first and the completed task last', async () => {
      const { stdout } = await run('bash', ['-c', snippet('curl-stream')], { env: { ...process.env, GATEWAY: url }, timeout: 30_000 });
      const events = stdout
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => (JSON.parse(line.slice(6)) as { result: Record<string, { status?: { state: string } }> }).result);
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events[0]!.task?.status?.state).toBe('TASK_STATE_SUBMITTED');
      expect(events.at(-1)!.task?.status?.state).toBe('TASK_STATE_COMPLETED');
    }, 30_000);
  });
});
