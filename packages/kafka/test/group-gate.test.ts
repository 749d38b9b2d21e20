import { describe, expect, it } from 'vitest';
import { membershipRequest } from '../src/group-gate.js';

/** A request frame as kafkajs writes it: size, api key, version, correlation id, client id, then the body. */
function frame(apiKey: number, clientId: string, body: Buffer): Buffer {
  const client = Buffer.from(clientId);
  const header = Buffer.alloc(10 + client.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(5, 2);
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
    expect(membershipRequest(frame(11, 'a2a-bus', body))).toEqual({ groupId: 'workers.tasks', kind: 'join' });
    expect(membershipRequest(frame(13, 'a2a-bus', body))).toEqual({ groupId: 'workers.tasks', kind: 'leave' });
    expect(membershipRequest(frame(12, 'a2a-bus', body))).toBeUndefined(); // Heartbeat
    expect(membershipRequest(frame(8, 'a2a-bus', body))).toBeUndefined(); // OffsetCommit
    expect(membershipRequest(frame(11, 'a2a-bus', Buffer.alloc(1)))).toBeUndefined(); // truncated
  });
});
