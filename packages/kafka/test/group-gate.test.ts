import { describe, expect, it } from 'vitest';
import { membershipRequest } from '../src/group-gate.js';

/** A request frame as kafkajs writes it: size, api key, version, correlation id, client id, then the body. */
function frame(apiKey: number, clientId: string, body: Buffer, version = 5): Buffer {
  const client = Buffer.from(clientId);
  const header = Buffer.alloc(10 + client.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(42, 4);
  header.writeInt16BE(client.length, 8);
  client.copy(header, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

function kafkaString(value: string): Buffer {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

describe('[kafka] group gate', () => {
  it('finds the kind and group id of JoinGroup and LeaveGroup requests only', () => {
    const body = Buffer.concat([kafkaString('workers.tasks'), Buffer.alloc(8)]);
    // JoinGroup v5 (what kafkajs speaks): group id, session and rebalance timeouts, member id, ...
    const join = Buffer.concat([kafkaString('workers.tasks'), Buffer.alloc(8), kafkaString('a2a-bus-42'), Buffer.alloc(4)]);
    expect(membershipRequest(frame(11, 'a2a-bus', join))).toEqual({ groupId: 'workers.tasks', kind: 'join', memberId: 'a2a-bus-42' });
    const fresh = Buffer.concat([kafkaString('workers.tasks'), Buffer.alloc(8), kafkaString(''), Buffer.alloc(4)]);
    expect(membershipRequest(frame(11, 'a2a-bus', fresh))?.memberId).toBe('');
    const leave = Buffer.concat([kafkaString('workers.tasks'), kafkaString('a2a-bus-42')]);
    expect(membershipRequest(frame(13, 'a2a-bus', leave, 1))).toEqual({ groupId: 'workers.tasks', kind: 'leave', memberId: 'a2a-bus-42' });
    const leaveV3 = Buffer.concat([kafkaString('workers.tasks'), Buffer.from([0, 0, 0, 1]), kafkaString('a2a-bus-42'), Buffer.from([0xff, 0xff])]);
    expect(membershipRequest(frame(13, 'a2a-bus', leaveV3, 3))?.memberId).toBe('a2a-bus-42');
    expect(membershipRequest(frame(12, 'a2a-bus', body))).toBeUndefined(); // Heartbeat
    expect(membershipRequest(frame(8, 'a2a-bus', body))).toBeUndefined(); // OffsetCommit
    expect(membershipRequest(frame(11, 'a2a-bus', Buffer.alloc(1)))).toBeUndefined(); // truncated
  });
});
