/** How a command writes its results: aligned tables for people, one JSON object per line for machines. */
export interface Output {
  /** One result row. In JSON mode, written at once; otherwise kept for `flush`. */
  row(row: Record<string, unknown>): void;
  /** A line of prose (human mode only). */
  note(line: string): void;
  /** Writes the kept rows as a table with these columns (human mode). */
  flush(columns?: readonly string[]): void;
}

export function createOutput(json: boolean, write: (text: string) => void = (text) => void process.stdout.write(text)): Output {
  const rows: Array<Record<string, unknown>> = [];
  return {
    row(row) {
      if (json) write(`${JSON.stringify(row)}\n`);
      else rows.push(row);
    },
    note(line) {
      if (!json) write(`${line}\n`);
    },
    flush(columns) {
      if (json || rows.length === 0) return;
      write(`${renderTable(rows, columns ?? Object.keys(rows[0]!))}\n`);
      rows.length = 0;
    },
  };
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function renderTable(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const numeric = columns.map((column) => rows.every((row) => row[column] === undefined || row[column] === null || typeof row[column] === 'number'));
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => (numeric[i] ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** One row of a table whose rows arrive one at a time: fixed column widths, wider cells push on. */
export function streamingRow(row: Record<string, unknown>, columns: ReadonlyArray<readonly [string, number]>): string {
  return columns
    .map(([name, width]) => cell(row[name]).padEnd(Math.max(width, name.length)))
    .join('  ')
    .trimEnd();
}
