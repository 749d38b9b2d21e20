import { describe, expect, it } from 'vitest';
import { createEnvelope, decodeEnvelope, encodeEnvelope, InvalidEnvelopeError, DecodeError } from '../src/index.js';

const message = { kind: 'message' as const, key: 'wf-1', payload: { messageId: 'm-1', role: 'ROLE_USER' as const, parts: [{ text: 'hi' }] } };

describe('envelope', () => {
  it('fills defaults and round-trips through bytes unchanged', () => {
    const envelope = createEnvelope({ ...message, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(envelope).toMatchObject({ v: 1, a2aVersion: '1.0', contentType: 'application/a2a+json', key: 'wf-1' });
    const decoded = decodeEnvelope(encodeEnvelope(envelope));
    expect(decoded).toEqual({ ok: true, envelope });
  });

  it('accepts what @a2a-js/sdk toJSON produces, and keeps unknown A2A fields', async () => {
    const { Message, Task, TaskState, Role } = await import('@a2a-js/sdk');
    const wire = Message.toJSON(
      Message.fromJSON({
        messageId: 'x',
        contextId: 'c',
        role: 'ROLE_AGENT',
        parts: [{ text: 't' }, { raw: 'AAH/', mediaType: 'application/octet-stream' }, { data: { a: 1 } }],
      }),
    );
    expect(Role.ROLE_AGENT).toBe(2);
    const envelope = createEnvelope({ kind: 'message', key: 'c', payload: { ...(wire as object), futureField: 1 } as never });
    expect((envelope.payload as Record<string, unknown>).futureField).toBe(1);
    const task = Task.toJSON({
      id: 't',
      contextId: 'c',
      status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: undefined },
      artifacts: [],
      history: [],
      metadata: undefined,
    });
    expect(createEnvelope({ kind: 'task', key: 'c', payload: task as never }).kind).toBe('task');
  });

  it('refuses an invalid envelope with a typed error naming each field', () => {
    const attempt = (): unknown =>
      createEnvelope({ kind: 'message', key: '', payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'a', data: 1 }] } } as never);
    expect(attempt).toThrow(InvalidEnvelopeError);
    try {
      attempt();
    } catch (error) {
      expect(InvalidEnvelopeError.isInstance(error)).toBe(true);
      expect((error as InvalidEnvelopeError).issues).toEqual([
        expect.stringMatching(/^key:/),
        expect.stringMatching(/^payload\.parts\.0: a part holds exactly one/),
      ]);
    }
  });

  it('decoding never throws: bad bytes come back as DecodeError', () => {
    for (const bytes of ['', 'not json', '{"v":2}', '{"v":1,"kind":"message"}', '[]', 'null']) {
      const result = decodeEnvelope(Buffer.from(bytes));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(DecodeError.isInstance(result.error)).toBe(true);
    }
    const v2 = decodeEnvelope('{"v":2}');
    expect(!v2.ok && v2.error.message).toMatch(/unsupported envelope version 2/);
  });

  it('a validated envelope is frozen and not validated twice', () => {
    const envelope = createEnvelope(message);
    expect(Object.isFrozen(envelope)).toBe(true);
    expect(createEnvelope(envelope)).toBe(envelope);
  });

  it('the mark of validation is not copied: a frozen copy with a bad field is validated and refused', () => {
    const envelope = createEnvelope(message);
    expect(Object.getOwnPropertySymbols(envelope)).toEqual([]);
    expect(envelope).toEqual({ ...envelope });
    const forged = Object.freeze({ ...envelope, key: '' });
    expect(() => createEnvelope(forged)).toThrow(InvalidEnvelopeError);
    expect(() => createEnvelope(null as never)).toThrow(InvalidEnvelopeError);
  });

  it('ids are UUIDs version 7, unique, and ordered by creation within a process', () => {
    const ids = Array.from({ length: 10_000 }, () => createEnvelope(message).id);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The first 48 bits are the creation time in milliseconds.
    const ms = Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
