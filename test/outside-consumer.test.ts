import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBroker, skippedSuite } from './src/index.js';

/**
 * What a user gets from npm: the packed tarballs (as `pnpm release:dry` writes them) installed
 * with plain npm into a project outside the workspace — no workspace links, no tsx, no
 * `@a2a-bus/source` condition — and run with plain Node.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const releaseDir = join(root, 'reports', 'release');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisAddress = new URL(redisUrl);
const skipReason = await requireBroker('Redis', redisAddress.hostname, Number(redisAddress.port || 6379));
// Plain Node: nothing of the workspace's loader setup reaches the outside project (pnpm puts
// its hoisted store on NODE_PATH, where every workspace package would be found).
const { NODE_PATH: _workspaceModules, ...inherited } = process.env;
const plainEnv = { ...inherited, NODE_OPTIONS: '' };
const workspaceVersion = (name: string): string => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

function tarball(name: string): string {
  const file = readdirSync(releaseDir).find((entry) => entry.startsWith(`a2a-bus-${name}-`) && entry.endsWith('.tgz'));
  if (!file) throw new Error(`no tarball for @a2a-bus/${name} in ${releaseDir}`);
  return join(releaseDir, file);
}

/** `name` and the @a2a-bus packages it depends on, transitively (directory names under packages/). */
function workspaceClosure(name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [...seen];
  seen.add(name);
  const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    if (dependency.startsWith('@a2a-bus/')) workspaceClosure(dependency.slice('@a2a-bus/'.length), seen);
  }
  return [...seen];
}

function node(project: string, args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, args, { cwd: project, env: { ...plainEnv, ...env }, timeout: 60_000 });
}

let project = '';
let cliProject = '';

beforeAll(async () => {
  // `bash scripts/dev.sh test` packs before the tests; packing here keeps a lone run working.
  if (!existsSync(releaseDir) || readdirSync(releaseDir).length === 0)
    await run(process.execPath, ['scripts/release-dry.mjs'], { cwd: root, env: plainEnv, timeout: 240_000 });
  project = mkdtempSync(join(tmpdir(), 'a2a-bus-outside-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'outside-consumer', private: true, type: 'module' }, null, 2));
  const packages = ['core', 'memory', 'redis-streams', 'conformance'].map(tarball);
  const tools = [`vitest@${workspaceVersion('vitest')}`, `typescript@${workspaceVersion('typescript')}`, `@types/node@${workspaceVersion('@types/node')}`];
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packages, ...tools], { cwd: project, env: plainEnv, timeout: 240_000 });
  cpSync(join(root, 'examples', 'install', 'app.mjs'), join(project, 'app.mjs'));
  cpSync(join(root, 'examples', 'install', 'check.ts'), join(project, 'check.ts'));
  cpSync(join(root, 'examples', 'loop-adapter'), join(project, 'loop-adapter'), { recursive: true });
}, 300_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  if (cliProject) rmSync(cliProject, { recursive: true, force: true });
});

describe('installed from the packed tarballs, outside the workspace', () => {
  it('installs nothing but the published files (no src, no workspace links)', () => {
    const core = join(project, 'node_modules', '@a2a-bus', 'core');
    expect(existsSync(join(core, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(core, 'src'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8'));
    expect(JSON.stringify(manifest.exports)).not.toContain('@a2a-bus/source');
    const memory = JSON.parse(readFileSync(join(project, 'node_modules', '@a2a-bus', 'memory', 'package.json'), 'utf8'));
    expect(memory.dependencies['@a2a-bus/core']).toMatch(/^\^\d/);
  });

  it('README shows the program this test runs, verbatim', () => {
    const app = readFileSync(join(root, 'examples', 'install', 'app.mjs'), 'utf8').trimEnd();
    expect(readme).toContain(`\`\`\`js\n${app}\n\`\`\``);
    expect(readme).toContain('npm install @a2a-bus/core @a2a-bus/memory');
  });

  it('node app.mjs on memory: creates a transport from a URL, registers an agent, dispatches, exits 0', async () => {
    const { stdout } = await node(project, ['app.mjs']);
    expect(stdout.trim()).toBe('TASK_STATE_COMPLETED echo: hello from plain node');
  });

  if (skipReason) {
    skippedSuite('node app.mjs on Redis', skipReason);
  } else {
    it('node app.mjs on a real broker (Redis): the same program, only the URL differs', async () => {
      const { stdout } = await node(project, ['app.mjs'], { A2A_BUS_URL: redisUrl });
      expect(stdout.trim()).toBe('TASK_STATE_COMPLETED echo: hello from plain node');
    });
  }

  it('a URL whose adapter is not installed fails naming the package to install', async () => {
    const script = [
      "import { createTransport } from '@a2a-bus/core';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the program's own template literal
      "const outcome = await createTransport('kafka://127.0.0.1:1').then((t) => `created ${t.backend}`, (e) => `${e.code} ${e.packageName}`);",
      'console.log(outcome);',
    ].join('\n');
    writeFileSync(join(project, 'missing-adapter.mjs'), script);
    const { stdout } = await node(project, ['missing-adapter.mjs']);
    expect(stdout.trim()).toBe('ADAPTER_NOT_INSTALLED @a2a-bus/kafka');
  });

  it.each(['NodeNext', 'Bundler'])('a TypeScript file typechecks against the published .d.ts (moduleResolution %s)', async (moduleResolution) => {
    const module = moduleResolution === 'Bundler' ? 'ESNext' : 'NodeNext';
    const compilerOptions = { module, moduleResolution, target: 'ES2023', lib: ['ES2023'], strict: true, noEmit: true, types: ['node'], skipLibCheck: false };
    writeFileSync(join(project, `tsconfig.${moduleResolution}.json`), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(node(project, [tsc, '-p', `tsconfig.${moduleResolution}.json`])).resolves.toBeDefined();
  });

  it('a third-party adapter (loop://) passes the published conformance suite through its public entry', async () => {
    const vitest = join(project, 'node_modules', 'vitest', 'vitest.mjs');
    const { stdout } = await run(process.execPath, [vitest, 'run', '--root', join(project, 'loop-adapter'), '--reporter', 'dot'], {
      cwd: project,
      env: { ...plainEnv, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 240_000,
    });
    expect(stdout).toMatch(/Tests\s+\d+ passed/);
    expect(stdout).not.toMatch(/failed|skipped/);
  }, 300_000);
});

describe('the a2a-bus command, installed from its tarball', () => {
  beforeAll(async () => {
    cliProject = mkdtempSync(join(tmpdir(), 'a2a-bus-cli-'));
    writeFileSync(join(cliProject, 'package.json'), JSON.stringify({ name: 'outside-cli', private: true, type: 'module' }, null, 2));
    // The CLI with every @a2a-bus package it depends on, as packed here (none is on the registry).
    const packages = workspaceClosure('cli').map(tarball);
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packages], { cwd: cliProject, env: plainEnv, timeout: 240_000 });
  }, 300_000);

  it('runs the demo with plain Node from node_modules/.bin and ends with its summary', async () => {
    const bin = join(cliProject, 'node_modules', '.bin', 'a2a-bus');
    const { stdout } = await run(bin, ['demo', '--workflows', '20'], { cwd: cliProject, env: plainEnv, timeout: 120_000 });
    expect(stdout).toMatch(/workflows completed\s+20\/20/);
    expect(stdout).toMatch(/result\s+OK/);
  }, 150_000);

  it('demo --kill-worker on Redis SIGKILLs a worker that runs as a process of its own (forked from the installed build)', async () => {
    const bin = join(cliProject, 'node_modules', '.bin', 'a2a-bus');
    const { stdout } = await run(bin, ['demo', '--url', redisUrl, '--workflows', '100', '--kill-worker'], { cwd: cliProject, env: plainEnv, timeout: 120_000 });
    expect(stdout).toMatch(/killing worker summarizer#1 \(an OS process, SIGKILL\) mid-run/);
    expect(stdout).toMatch(/workflows completed\s+99\/100 +\(1 failed for good .* and 0 lost\)/);
    expect(stdout).toMatch(/step order verified\s+100\/100/);
    expect(stdout).toMatch(/result\s+OK/);
  }, 150_000);
});
