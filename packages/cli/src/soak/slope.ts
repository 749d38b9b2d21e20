/** Least-squares slope of `values` over `timesMs`, per hour. */
export function slopePerHour(timesMs: readonly number[], values: readonly number[]): number {
  const n = Math.min(timesMs.length, values.length);
  if (n < 2) return 0;
  const hours = timesMs.slice(0, n).map((t) => t / 3_600_000);
  const meanX = hours.reduce((a, b) => a + b, 0) / n;
  const meanY = values.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (hours[i]! - meanX) * (values[i]! - meanY);
    den += (hours[i]! - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
