import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

it('the Prometheus example serves a scrape endpoint whose counters match the five dispatches', () => {
  const out = execFileSync(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', 'packages/opentelemetry/examples/prometheus.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, A2A_BUS_URL: 'memory://prometheus-example', METRICS_PORT: String(43_000 + Math.floor(Math.random() * 900)) },
    timeout: 60_000,
  });
  expect(out.trim().split('\n')).toEqual([
    'messaging_client_sent_messages_total a2a.tasks.text.echo 5',
    'messaging_client_consumed_messages_total a2a.tasks.text.echo 5',
  ]);
});

it('the package README points at the Prometheus example', () => {
  expect(readFileSync(new URL('packages/opentelemetry/README.md', root), 'utf8')).toContain('examples/prometheus.ts');
});
