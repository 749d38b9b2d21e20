import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ISocketFactory } from 'kafkajs';

/** A JoinGroup or a LeaveGroup request. */
export type MembershipRequest = 'join' | 'leave';

/**
 * Called before a member of `groupId` joins or leaves; the request is sent once what it
 * returns resolved. `sent` then tells which socket it went out on (a JoinGroup waits there
 * until the group completes the rebalance).
 */
export interface GroupGate {
  /** `memberId`: the request's member id ('' for a member joining afresh; undefined when it cannot be read). */
  before(groupId: string, request: MembershipRequest, memberId: string | undefined): Promise<void> | undefined;
  sent(groupId: string, request: MembershipRequest, socket: Socket, memberId: string | undefined): void;
}

const JOIN_GROUP = 11;
const LEAVE_GROUP = 13;
const keepAliveMs = 60_000;
/** What sockets ended by close() fail with (kafkajs then logs "Connection error: <this>"). */
export const TRANSPORT_CLOSED = 'the a2a-bus transport is closed';

/**
 * kafkajs has no "partitions revoked" callback: it sends JoinGroup (rebalance) or
 * LeaveGroup (stop, crash-restart) as soon as it decides to, while this member's handlers
 * may still run records of partitions the group is about to give to someone else. Kafka's
 * eager protocol hands partitions out only after every member rejoined, so holding this
 * member's LeaveGroup until its handlers finished and its offsets are committed is exactly
 * Java's `onPartitionsRevoked`; a JoinGroup waits until the offsets are committed (the
 * partitions it still runs handlers on come back to it: see keep-running-assigner.ts). The
 * socket factory is the one place to do it: it is kafkajs's default factory, with `write`
 * holding those two requests until the subscription of that group said it let go.
 */
export function gatedSocketFactory(gate: GroupGate): GatedSockets {
  const open = new Set<Socket>();
  let closed = false;
  const factory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    const socket: Socket = ssl
      ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(typeof ssl === 'object' ? ssl : {}) }, onConnect)
      : netConnect({ host, port }, onConnect);
    if (closed) {
      // A kafkajs retry after close: fail it at once, so its retry loop ends instead of waiting.
      process.nextTick(() => socket.destroy(new Error(TRANSPORT_CLOSED)));
      return socket;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.setKeepAlive(true, keepAliveMs);
    const write = socket.write.bind(socket) as (chunk: unknown, encoding?: BufferEncoding) => boolean;
    socket.write = ((chunk: unknown, encoding?: BufferEncoding) => {
      const request = Buffer.isBuffer(chunk) ? membershipRequest(chunk) : undefined;
      if (!request) return write(chunk, encoding);
      const { groupId, kind, memberId } = request;
      const send = (): boolean => {
        if (socket.destroyed) return false;
        const written = write(chunk, encoding);
        gate.sent(groupId, kind, socket, memberId);
        return written;
      };
      const wait = gate.before(groupId, kind, memberId);
      if (!wait) return send();
      void wait.then(send, send);
      return true;
    }) as Socket['write'];
    return socket;
  };
  return {
    factory,
    destroyAll() {
      closed = true;
      // With an error: kafkajs notices only 'error' or 'end' and then clears its request timers.
      for (const socket of open) socket.destroy(new Error(TRANSPORT_CLOSED));
      open.clear();
    },
  };
}

/** kafkajs's socket factory with the membership gate, and a way to end every socket it opened. */
export interface GatedSockets {
  readonly factory: ISocketFactory;
  /**
   * Destroys every socket still open and fails any opened later. For close(): kafkajs's
   * `disconnect()` leaves a connection that is still waiting for its first answer (a listener
   * that accepts and never answers) open until its 30 s request timeout, and retries after it,
   * which keeps the process alive long after close.
   */
  destroyAll(): void;
}

/**
 * The kind and group id of a JoinGroup or LeaveGroup request, else undefined. kafkajs writes
 * each request whole: int32 size, int16 api key, int16 version, int32 correlation id, string
 * client id, then (in every non-flexible version kafkajs speaks) string group id first.
 */
export function membershipRequest(
  frame: Buffer,
): { readonly groupId: string; readonly kind: MembershipRequest; readonly memberId: string | undefined } | undefined {
  if (frame.length < 14) return undefined;
  const apiKey = frame.readInt16BE(4);
  if (apiKey !== JOIN_GROUP && apiKey !== LEAVE_GROUP) return undefined;
  const clientIdLength = frame.readInt16BE(12);
  const group = stringAt(frame, 14 + Math.max(0, clientIdLength));
  if (!group) return undefined;
  const version = frame.readInt16BE(6);
  if (apiKey === LEAVE_GROUP) {
    // v0-v2: the member id; v3: an array of members (int32 count), kafkajs sends one.
    const member = version <= 2 ? stringAt(frame, group.end) : version === 3 ? stringAt(frame, group.end + 4) : undefined;
    return { groupId: group.value, kind: 'leave', memberId: member?.value };
  }
  // JoinGroup v0-v5: session timeout (int32), from v1 the rebalance timeout (int32), then the member id.
  const member = version <= 5 ? stringAt(frame, group.end + 4 + (version >= 1 ? 4 : 0)) : undefined;
  return { groupId: group.value, kind: 'join', memberId: member?.value };
}

/** A Kafka string (int16 length, then UTF-8) at `at`, and where it ends. */
function stringAt(frame: Buffer, at: number): { readonly value: string; readonly end: number } | undefined {
  if (frame.length < at + 2) return undefined;
  const length = frame.readInt16BE(at);
  if (length < 0 || frame.length < at + 2 + length) return undefined;
  return { value: frame.toString('utf8', at + 2, at + 2 + length), end: at + 2 + length };
}
