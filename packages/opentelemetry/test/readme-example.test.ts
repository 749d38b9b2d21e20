import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

it("README's traced-workflow example is the file that runs, and it prints one trace of the two steps", () => {
  const example = readFileSync(new URL('packages/opentelemetry/examples/traced-workflow.ts', root), 'utf8').trimEnd();
  expect(readFileSync(new URL('README.md', root), 'utf8')).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  const out = execFileSync(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', 'packages/opentelemetry/examples/traced-workflow.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, A2A_BUS_URL: 'memory://readme-traced' },
    timeout: 60_000,
  });
  expect(out.trim().split('\n')).toEqual([
    '1 trace',
    'send a2a.tasks.doc.draft',
    'process a2a.tasks.doc.draft',
    'send a2a.tasks.doc.review',
    'process a2a.tasks.doc.review',
  ]);
});

it("the package README's code is an excerpt of that example", () => {
  const example = readFileSync(new URL('packages/opentelemetry/examples/traced-workflow.ts', root), 'utf8');
  const readme = readFileSync(new URL('packages/opentelemetry/README.md', root), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThan(0);
  for (const block of blocks) expect(example).toContain(block);
});
