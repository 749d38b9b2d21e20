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
  before(groupId: string, request: MembershipRequest): Promise<void> | undefined;
  sent(groupId: string, request: MembershipRequest, socket: Socket): void;
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
      const { groupId, kind } = request;
      const send = (): boolean => {
        if (socket.destroyed) return false;
        const written = write(chunk, encoding);
        gate.sent(groupId, kind, socket);
        return written;
      };
      const wait = gate.before(groupId, kind);
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
export function membershipRequest(frame: Buffer): { readonly groupId: string; readonly kind: MembershipRequest } | undefined {
  if (frame.length < 14) return undefined;
  const apiKey = frame.readInt16BE(4);
  if (apiKey !== JOIN_GROUP && apiKey !== LEAVE_GROUP) return undefined;
  const groupId = groupAt(frame);
  return groupId === undefined ? undefined : { groupId, kind: apiKey === JOIN_GROUP ? 'join' : 'leave' };
}

function groupAt(frame: Buffer): string | undefined {
  const clientIdLength = frame.readInt16BE(12);
  const groupAt = 14 + Math.max(0, clientIdLength);
  if (frame.length < groupAt + 2) return undefined;
  const groupLength = frame.readInt16BE(groupAt);
  if (groupLength < 0 || frame.length < groupAt + 2 + groupLength) return undefined;
  return frame.toString('utf8', groupAt + 2, groupAt + 2 + groupLength);
}
