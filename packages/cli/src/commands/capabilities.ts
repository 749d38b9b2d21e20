import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadCapabilities, renderCapabilityTable, withCapabilityTable } from '../capability-table.js';

/** `a2a-bus capabilities [--write]`: the capability table, printed or written into README.md. */
export function register(program: Command): void {
  program
    .command('capabilities')
    .description('the capability table (markdown) generated from every transport')
    .option('--write', "replace README.md's capability block", false)
    .action(async (flags: { write: boolean }) => {
      const table = renderCapabilityTable(await loadCapabilities());
      if (!flags.write) {
        process.stdout.write(`${table}\n`);
        return;
      }
      const readme = new URL('../../../../README.md', import.meta.url);
      writeFileSync(readme, withCapabilityTable(readFileSync(readme, 'utf8'), table));
      process.stdout.write('README.md capability table updated\n');
    });
}
