// How long a value's JSON text is, without building it. Shared by the size limits and the
// fast envelope path (which measures what it copies, as it copies it).

/** Printable ASCII other than `"` and `\`: JSON writes such a string as is, between quotes. */
const VERBATIM_IN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The most JSON's UTF-8 takes for one UTF-16 unit of a string: a control character or lone surrogate is written `\u001f`. */
export const MAX_JSON_BYTES_PER_UNIT = 6;

/** Object keys repeat from envelope to envelope: their sizes are remembered (up to this many keys). */
const KEY_SIZES_KEPT = 4_096;
const keySizes = new Map<string, number>();

export function keyByteLength(key: string): number {
  let size = keySizes.get(key);
  if (size === undefined) {
    size = stringByteLength(key);
    if (keySizes.size >= KEY_SIZES_KEPT) keySizes.clear();
    keySizes.set(key, size);
  }
  return size;
}

function stringByteLength(text: string): number {
  return VERBATIM_IN_JSON.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text));
}

/**
 * The walk behind `jsonByteLength`. With `estimate` set, a string counts its length in UTF-16
 * units (plus its quotes) instead of its UTF-8 bytes with JSON's escapes — exact for plain
 * ASCII, and nothing to scan — and `estimate.units` collects those lengths: the exact size is
 * at most `MAX_JSON_BYTES_PER_UNIT - 1` bytes per such unit more than the estimate.
 */
export function measureJson(value: unknown, estimate: { units: number } | undefined): number {
  switch (typeof value) {
    case 'string':
      if (estimate === undefined) return stringByteLength(value);
      estimate.units += value.length;
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let size = value.length > 0 ? value.length + 1 : 2; // brackets and commas
        // By index, as JSON.stringify reads an array: one with a null prototype has no iterator.
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          size += item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 4 : measureJson(item, estimate);
        }
        return size;
      }
      const prototype = Object.getPrototypeOf(value);
      if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return Buffer.byteLength(JSON.stringify(value));
      let size = 1; // '{', then '}' or one ',' per member after the first
      let members = 0;
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        size += keyByteLength(key) + 1 + measureJson(member, estimate);
        members += 1;
      }
      return size + Math.max(1, members);
    }
    default:
      return Buffer.byteLength(JSON.stringify(value));
  }
}

/**
 * Exactly `Buffer.byteLength(JSON.stringify(value))`, without building the string: on the
 * memory transport's publish path the JSON text was built only to be measured, and that
 * was half its CPU (a 1 KiB envelope). Anything unusual (toJSON, class instances, escapes,
 * non-ASCII) is measured by JSON.stringify itself.
 */
export function jsonByteLength(value: unknown): number {
  return measureJson(value, undefined);
}
