/** A Map that forgets its oldest entries beyond `max`: per-series state stays bounded. */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.map.size;
  }

  /** The entry for `key`, created by `create` when absent. */
  ensure(key: K, create: () => V): V {
    let value = this.map.get(key);
    if (value === undefined) {
      value = create();
      this.map.set(key, value);
      if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    }
    return value;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
