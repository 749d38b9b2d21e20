/** A fixed-size ring of the latest values (and their ids): constant memory per series. */
export class Ring {
  private readonly values: number[] = [];
  private readonly ids: string[] = [];
  private next = 0;

  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  get length(): number {
    return this.values.length;
  }

  push(value: number, id: string): void {
    if (this.values.length < this.size) {
      this.values.push(value);
      this.ids.push(id);
      return;
    }
    this.values[this.next] = value;
    this.ids[this.next] = id;
    this.next = (this.next + 1) % this.size;
  }

  median(): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  /** Ids of the values above `threshold`, highest first, at most `limit`. */
  idsAbove(threshold: number, limit: number): string[] {
    return this.values
      .map((value, i) => ({ value, id: this.ids[i]! }))
      .filter((entry) => entry.value > threshold)
      .sort((a, b) => b.value - a.value)
      .slice(0, limit)
      .map((entry) => entry.id);
  }
}
