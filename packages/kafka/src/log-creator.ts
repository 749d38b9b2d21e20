import type { Logger } from '@a2a-bus/core';
import { logLevel, type logCreator } from 'kafkajs';
import { TRANSPORT_CLOSED } from './group-gate.js';

/**
 * Routes kafkajs's log lines into our logger. kafkajs logs group joins, pauses and
 * retries at INFO; those go to `debug` so an application at `info` hears only problems.
 * Lines about conditions kafkajs or a2a-bus handle by design are lowered too: every
 * protocol error response (kafkajs logs each at ERROR, e.g. REBALANCE_IN_PROGRESS on a
 * heartbeat), rebalances, and the warning about the producer's bounded retries (bounded on
 * purpose, so a publish fails within `publishTimeoutMs`), and the connections close() itself
 * ends (kafkajs reports each as a connection error).
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      const fields = { kafkajs: namespace, ...extra };
      if (namespace === 'Connection' && (message.startsWith('Response ') || message.endsWith(TRANSPORT_CLOSED))) logger.debug(fields, message);
      else if (message.startsWith('The group is rebalancing')) logger.info(fields, message);
      else if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    };
}
