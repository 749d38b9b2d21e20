#!/usr/bin/env node
// Flake hunting: runs test files N times and prints, per case, how often it ran and failed.
//
//   pnpm test:repeat --times 10                      the broker-backed files, 10 times
//   pnpm test:repeat --times 3 --filter nats         only files whose path contains "nats"
//   pnpm test:repeat --times 5 --filter redis-streams.test -t "term"   and only matching cases
//   pnpm test:repeat --times 10 --burn 1             with one CPU burner running (a loaded machine)
//   pnpm test:repeat --times 10 --all                print every case, not only the flaky ones
//
// Each run writes a JUnit report to reports/repeat/run-<i>.xml; the table is built from them.
// The exit code is 1 when any case failed in any run.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const BROKER_BACKED = ['test/kafka', 'test/nats', 'test/redis-streams'];

const { values } = parseArgs({
  options: {
    times: { type: 'string', default: '3' },
    filter: { type: 'string', multiple: true },
    t: { type: 'string' },
    burn: { type: 'string', default: '0' },
    all: { type: 'boolean', default: false },
  },
});
const times = Number(values.times);
if (!Number.isInteger(times) || times < 1) throw new Error(`--times must be a positive integer, got ${values.times}`);
const filters = values.filter?.length ? values.filter : BROKER_BACKED;
const outDir = join('reports', 'repeat');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

// Optional load: busy loops in child processes, ended when the runs are done.
const burners = Array.from({ length: Number(values.burn) }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopBurners = () => {
  for (const burner of burners) burner.kill('SIGKILL');
};
process.on('exit', stopBurners);

/** case → { runs, failures, skipped, messages } */
const cases = new Map();
const runTimes = [];
for (let run = 1; run <= times; run += 1) {
  const file = join(outDir, `run-${run}.xml`);
  const args = ['vitest', 'run', ...filters, '--reporter=dot', '--reporter=junit', `--outputFile.junit=${file}`, ...(values.t ? ['-t', values.t] : [])];
  const started = Date.now();
  const code = await new Promise((resolve) => spawn('pnpm', ['exec', ...args], { stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', resolve));
  runTimes.push(Date.now() - started);
  let xml;
  try {
    xml = readFileSync(file, 'utf8');
  } catch {
    console.log(`run ${run}: no report (vitest exited ${code} before writing one)`);
    continue;
  }
  const results = parseJunit(xml);
  for (const result of results) {
    const entry = cases.get(result.name) ?? { runs: 0, failures: 0, skipped: 0, messages: [] };
    if (result.skipped) entry.skipped += 1;
    else entry.runs += 1;
    if (result.failure !== undefined) {
      entry.failures += 1;
      entry.messages.push(`run ${run}: ${result.failure}`);
    }
    cases.set(result.name, entry);
  }
  const failed = results.filter((r) => r.failure !== undefined).length;
  console.log(`run ${run}/${times}: ${results.length} cases, ${failed} failed, ${Math.round((Date.now() - started) / 1000)} s (vitest exit ${code})`);
}
stopBurners();

const rows = [...cases].filter(([, c]) => values.all || c.failures > 0).sort((a, b) => b[1].failures - a[1].failures || a[0].localeCompare(b[0]));
const width = Math.min(110, Math.max(4, ...rows.map(([name]) => name.length)));
console.log(`\n${'case'.padEnd(width)} | runs | failures`);
console.log(`${'-'.repeat(width)}-|------|---------`);
for (const [name, c] of rows) console.log(`${name.slice(0, width).padEnd(width)} | ${String(c.runs).padStart(4)} | ${String(c.failures).padStart(8)}`);
if (rows.length === 0) console.log(`${'(no case failed)'.padEnd(width)} |      |`);
const total = [...cases.values()];
const flaky = total.filter((c) => c.failures > 0 && c.failures < c.runs).length;
const broken = total.filter((c) => c.runs > 0 && c.failures === c.runs).length;
console.log(
  `\n${total.length} cases × ${times} runs (filters: ${filters.join(' ')}${values.t ? `, -t ${values.t}` : ''}; burners: ${burners.length}): ${flaky} flaky, ${broken} failing every run, ${total.filter((c) => c.skipped > 0).length} skipped at least once; run times ${runTimes.map((ms) => `${Math.round(ms / 1000)} s`).join(', ')}`,
);
for (const [name, c] of rows) for (const message of c.messages) console.log(`  ${name}\n    ${message}`);
process.exitCode = rows.some(([, c]) => c.failures > 0) ? 1 : 0;

/** Test cases of a JUnit report: name (file › suite › case), failure message, skipped. */
function parseJunit(xml) {
  const results = [];
  const pattern = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(pattern)) {
    const attrs = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], decode(m[2])]));
    const body = match[3] ?? '';
    const failure = /<(failure|error)\b[^>]*?(?:message="([^"]*)")?[^>]*>/.exec(body);
    results.push({
      name: `${attrs.classname} › ${attrs.name}`,
      skipped: /<skipped\b/.test(body),
      failure: failure
        ? decode(failure[2] ?? failure[1])
            .split('\n')[0]
            .slice(0, 200)
        : undefined,
    });
  }
  return results;
}

function decode(text) {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}
