import type { Logger, Transport } from '@a2a-bus/core';
import { parseOptions } from '@a2a-bus/core/adapter';
import { z } from 'zod';

export const consoleOptionsSchema = z.object({
  /** The bus to show (any backend). The console only reads, except when you redrive a dead letter. */
  transport: z.custom<Transport>((value) => typeof value === 'object' && value !== null && 'replay' in value, 'a Transport'),
  namespace: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('a2a'),
  /** Address to listen on. Loopback (the default) needs no token; any other address does. */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0: any free port (see `url` on the started console). */
  port: z.int().min(0).max(65_535).default(0),
  /** Access token. Required off loopback: generated when not given (see `token` on the started console). */
  token: z.string().min(16).optional(),
  /** Match the buses' agentTtlMs: an agent not heard from for this long shows as silent. */
  agentTtlMs: z.int().min(100).default(15_000),
  /** How far back the workflow search and the anomalies list reach. */
  lookbackMs: z.int().min(1_000).default(3_600_000),
  lagIntervalMs: z.int().min(100).default(2_000),
  /** How much lag history the chart shows. */
  lagWindowMs: z.int().min(1_000).default(600_000),
  /** Recorded on redriven envelopes as who redrove them. */
  operator: z.string().min(1).default('console'),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null, 'a logger').optional(),
});

export type ConsoleOptions = z.input<typeof consoleOptionsSchema>;
export type ParsedConsoleOptions = z.output<typeof consoleOptionsSchema>;

export function parseConsoleOptions(options: unknown): ParsedConsoleOptions {
  return parseOptions('console', consoleOptionsSchema, options);
}

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopback(host: string): boolean {
  return loopbackHosts.has(host) || host.startsWith('127.');
}
