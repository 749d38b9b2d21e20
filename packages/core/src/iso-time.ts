/**
 * `new Date(ms).toISOString()` costs about a microsecond, and a dispatch wrote four of them.
 * Within one millisecond the string is the same: each caller keeps its own last one (a
 * deadline and a creation time, asked for in turn, would evict each other from a shared one).
 */
export function isoTimeCache(): (ms: number) => string {
  let lastMs = Number.NaN;
  let last = '';
  return (ms) => {
    if (ms !== lastMs) {
      last = new Date(ms).toISOString();
      lastMs = ms;
    }
    return last;
  };
}
