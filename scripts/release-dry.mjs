#!/usr/bin/env node
// `pnpm release:dry`: builds every package, packs each publishable one as `pnpm publish`
// would (publishConfig applied, workspace: ranges replaced) into reports/release/, lists
// each tarball's files and sizes, and checks the tarballs with publint and
// @arethetypeswrong/cli. Publishes nothing. Exits non-zero when a tarball holds anything but
// dist/, README.md, LICENSE, CHANGELOG.md and package.json, or when a check reports an error.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'reports', 'release');
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
const allowed = /^package\/(dist\/.+|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/;

/** Every workspace package that is not private, with its directory. */
function publishablePackages() {
  const listed = JSON.parse(run('pnpm', ['-r', 'ls', '--depth', '-1', '--json']));
  return listed
    .filter((pkg) => pkg.path !== root)
    .map((pkg) => ({ dir: pkg.path, manifest: JSON.parse(readFileSync(join(pkg.path, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => !manifest.private)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
process.stdout.write('building (tsc -b)…\n');
run('pnpm', ['build'], { stdio: 'inherit' });

let failures = 0;
const summary = [];
for (const { dir, manifest } of publishablePackages()) {
  const before = new Set(readdirSync(out));
  run('pnpm', ['pack', '--pack-destination', out], { cwd: dir });
  const tarball = readdirSync(out).find((file) => !before.has(file) && file.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack produced no tarball for ${manifest.name}`);
  const path = join(out, tarball);
  const files = run('tar', ['-tzvf', path])
    .trim()
    .split('\n')
    .map((line) => {
      const parts = line.trim().split(/\s+/);
      return { size: Number(parts[2]), name: parts.at(-1) };
    });
  const stray = files.filter((file) => !allowed.test(file.name));
  const missing = ['package/README.md', 'package/LICENSE', 'package/package.json'].filter((name) => !files.some((file) => file.name === name));
  const packedManifest = JSON.parse(run('tar', ['-xzOf', path, 'package/package.json']));
  const leaks = JSON.stringify(packedManifest).match(/workspace:|@a2a-bus\/source|\.\/src\//g) ?? [];
  const checks = [];
  const check = (label, args) => {
    try {
      run('npx', args);
      checks.push(`${label} ok`);
    } catch (error) {
      failures += 1;
      checks.push(`${label} FAILED`);
      process.stdout.write(`${error.stdout ?? ''}${error.stderr ?? ''}\n`);
    }
  };
  check('publint', ['publint', 'run', path, '--level', 'warning', '--strict']);
  // A bin-only package (the CLI) has no entry points for attw to resolve.
  if (packedManifest.exports) check('attw', ['attw', path, '--profile', 'esm-only', '--format', 'ascii', '--no-color']);
  else checks.push('attw n/a (bin only)');
  if (stray.length > 0 || leaks.length > 0 || missing.length > 0) failures += 1;
  summary.push({ name: manifest.name, tarball, bytes: statSync(path).size, files, stray, leaks, missing, checks });
}

for (const pkg of summary) {
  const unpacked = pkg.files.reduce((sum, file) => sum + file.size, 0);
  process.stdout.write(
    `\n${pkg.name}  ${pkg.tarball}  ${kib(pkg.bytes)} packed, ${kib(unpacked)} unpacked, ${pkg.files.length} files  [${pkg.checks.join(', ')}]\n`,
  );
  const top = new Map();
  for (const file of pkg.files) {
    const head = file.name.replace(/^package\//, '').split('/')[0];
    top.set(head, (top.get(head) ?? 0) + file.size);
  }
  for (const [head, size] of top) process.stdout.write(`  ${head.padEnd(16)} ${kib(size)}\n`);
  for (const file of pkg.stray) process.stdout.write(`  NOT ALLOWED IN A TARBALL: ${file.name}\n`);
  for (const leak of new Set(pkg.leaks)) process.stdout.write(`  PACKED package.json STILL MENTIONS: ${leak}\n`);
  for (const name of pkg.missing) process.stdout.write(`  MISSING FROM THE TARBALL: ${name}\n`);
}
process.stdout.write(`\n${summary.length} packages packed into reports/release; ${failures === 0 ? 'all checks passed' : `${failures} problem(s)`}\n`);
process.exit(failures === 0 ? 0 : 1);
