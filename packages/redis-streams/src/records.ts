import type { InboundRecord } from '@a2a-bus/core/adapter';

/** An entry read from a partition stream, as handed to the dispatcher. */
export interface StreamRecord extends InboundRecord {
  readonly stream: string;
}

/** Field names of an a2a-bus stream entry: the partition key and the encoded envelope. */
export const KEY_FIELD = 'k';
export const VALUE_FIELD = 'v';

const EMPTY: Buffer = Buffer.alloc(0);

/** Picks key and value out of an entry's flat field list; foreign entries get an empty value (dead-lettered as undecodable). */
export function readFields(fields: readonly Buffer[] | null): { key: string; value: Buffer } {
  let key = '';
  let value: Buffer = EMPTY;
  if (!fields) return { key, value };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length !== 1) continue;
    if (name[0] === 0x6b) key = fields[i + 1]!.toString('utf8');
    else if (name[0] === 0x76) value = fields[i + 1]!;
  }
  return { key, value };
}
