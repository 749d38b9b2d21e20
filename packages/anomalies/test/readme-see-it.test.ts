import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const example = 'packages/anomalies/test/examples/see-it.ts';

describe('README "See it"', () => {
  it('shows the detection example exactly as the file that runs', () => {
    expect(readme).toContain(`\`\`\`ts\n${readFileSync(new URL(example, root), 'utf8').trimEnd()}\n\`\`\``);
  });

  it('the example runs and reports the 100x payload, and nothing else', () => {
    const out = execFileSync(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', example], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, A2A_BUS_URL: 'memory://see-it' },
      timeout: 60_000,
    });
    expect(out.trim().split('\n')).toEqual([expect.stringMatching(/^ANOMALY payload-size summarize@worker-1: payload of \d+ bytes vs \d+ bytes normal$/)]);
  });

  it('the screenshots it shows are committed', () => {
    for (const image of ['docs/console-timeline.png', 'docs/console-anomalies.png']) {
      expect(readme).toContain(`](${image})`);
      expect(existsSync(new URL(image, root))).toBe(true);
    }
  });
});
