import { commonTransportOptions, parseOptions, type Clock } from '@a2a-bus/core/adapter';
import { z } from 'zod';
import { MemoryBroker } from './log.js';
import { memoryRetentionSchema } from './retention.js';

const memoryOptionsSchema = z
  .object({
    ...commonTransportOptions,
    /** Named broker of this process (`memory://name`); transports with one name share one log. */
    name: z.string().min(1).default('default'),
    /** An explicit broker object; wins over `name`. */
    broker: z.instanceof(MemoryBroker).optional(),
    /**
     * A handler running longer than this marks its member hung: the member is dropped from the
     * group (its handlers' signals abort) and what it held is redelivered to the others.
     */
    ackTimeoutMs: z.int().min(1).default(300_000),
    /** Time source for retry delays and ack timeouts; tests inject a fake one. */
    /**
     * Retention of the topics this transport creates, per partition: by default at most 10 000
     * records, 8 MiB and 7 days, whichever comes first; never a record some group has not
     * acknowledged. `topics: { name: limits | false }` overrides one topic; `false` keeps all.
     */
    retention: memoryRetentionSchema,
    clock: z.custom<Clock>((value) => typeof value === 'object' && value !== null && 'now' in value && 'setTimeout' in value, 'a Clock').optional(),
  })
  .strict();

export type MemoryTransportOptions = z.input<typeof memoryOptionsSchema>;

export function parseMemoryOptions(options: unknown): z.output<typeof memoryOptionsSchema> {
  return parseOptions('memory', memoryOptionsSchema, options);
}

/** `memory://` or `memory://name`. */
export function memoryOptionsFromConfig(config: Record<string, unknown>): MemoryTransportOptions {
  const { url, ...rest } = config;
  if (typeof url !== 'string') return rest;
  const name = url.replace(/^memory:\/\//i, '').replace(/\/+$/, '');
  return { ...(name ? { name } : {}), ...rest };
}
