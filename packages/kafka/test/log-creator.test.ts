import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_CLOSED } from '../src/group-gate.js';
import { kafkaLogCreator } from '../src/log-creator.js';

/** Which of our logger's levels each kafkajs line reached. */
function route(level: logLevel, namespace: string, message: string): string[] {
  const reached: string[] = [];
  const at = (name: string) => () => void reached.push(name);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const log = kafkaLogCreator(logger as never)(logLevel.DEBUG);
  log({ namespace, level, label: 'ERROR', log: { message, timestamp: 'now', logger: 'kafkajs' } });
  return reached;
}

describe('kafkajs log lines', () => {
  it('keep their level when they are news', () => {
    expect(route(logLevel.ERROR, 'Connection', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092')).toEqual(['error']);
    expect(route(logLevel.WARN, 'Runner', 'something to know')).toEqual(['warn']);
    expect(route(logLevel.INFO, 'ConsumerGroup', 'Consumer has joined the group')).toEqual(['debug']);
  });

  it('go to debug when they report what a2a-bus does on purpose', () => {
    expect(route(logLevel.ERROR, 'Connection', 'Response Heartbeat(key: 12, version: 3)')).toEqual(['debug']);
    // close() ends the sockets kafkajs's disconnect() left open; kafkajs calls each a connection error.
    expect(route(logLevel.ERROR, 'Connection', `Connection error: ${TRANSPORT_CLOSED}`)).toEqual(['debug']);
    expect(route(logLevel.WARN, 'Producer', 'Limiting retries for the idempotent producer to 1')).toEqual([]);
    expect(route(logLevel.ERROR, 'Runner', 'The group is rebalancing, re-joining')).toEqual(['info']);
  });
});
