import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelope, encodeEnvelope } from '../src/envelope.js';
import { PayloadTooLargeError } from '../src/errors/payload-too-large-error.js';
import { assertEnvelopeWithin, encodeEnvelopeTextWithin, envelopeByteLength, jsonByteLength } from '../src/limits.js';

const stringified = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** A message envelope whose message metadata holds an array with a null prototype. */
function nullPrototypeArrayEnvelope() {
  return {
    kind: 'message' as const,
    key: 'k',
    payload: {
      messageId: 'm',
      role: 'ROLE_USER' as const,
      parts: [{ text: 'hi' }],
      metadata: { list: Object.setPrototypeOf(['a', 'b'], null) as unknown },
    },
  };
}

describe('jsonByteLength', () => {
  it('equals the UTF-8 length of JSON.stringify for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => jsonByteLength(value) === stringified(value)),
      { numRuns: 2_000 },
    );
  });

  it('equals it for unicode, escapes, lone surrogates and control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => jsonByteLength({ text, list: [text] }) === stringified({ text, list: [text] })),
      { numRuns: 2_000 },
    );
  });

  it('equals it for long strings, mostly plain with the odd escape, control character, DEL or non-ASCII unit', () => {
    const unit = fc.oneof(
      { weight: 20, arbitrary: fc.constant('x') },
      fc.constantFrom('"', '\\', '\n', '\u0001', '\u001f', '\u007f', 'é', '€', '\ud800', '\udc00', '😀'),
    );
    fc.assert(
      fc.property(fc.string({ unit, minLength: 64, maxLength: 2_000 }), (text) => jsonByteLength(text) === stringified(text)),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', minLength: 64, maxLength: 500 }), (text) => jsonByteLength(text) === stringified(text)),
      { numRuns: 1_000 },
    );
  });

  it('skips what JSON.stringify skips and defers to it for toJSON, dates and class instances', () => {
    const cases: unknown[] = [
      { a: undefined, b: () => 1, c: Symbol('s'), d: 1 },
      [undefined, () => 1, Symbol('s'), 2],
      { at: new Date(0) },
      { nested: { toJSON: () => ({ replaced: true }) } },
      { map: new Map([[1, 2]]) },
      { n: Number.NaN, i: Number.POSITIVE_INFINITY, z: -0, e: 1e21, f: 1.5e-7 },
      {},
      [],
      Object.create(null),
    ];
    for (const value of cases) expect(jsonByteLength(value)).toBe(stringified(value));
  });

  // JSON.stringify reads an array by index; an array with a null prototype has no iterator,
  // and measuring it with for...of threw "value is not iterable" (found by the fast path's
  // property test: such an array kept under an unknown key of a payload).
  it('measures an array with a null prototype, or with holes, as JSON.stringify writes it', () => {
    const bare = Object.setPrototypeOf([1, 'two', [3]], null) as unknown[];
    const holes: unknown[] = [1];
    holes[2] = 3; // index 1 is a hole
    const cases: unknown[] = [bare, { payload: { '': bare } }, holes, { list: Object.setPrototypeOf([], null) }];
    for (const value of cases) expect(jsonByteLength(value)).toBe(stringified(value));
    const envelope = createEnvelope(nullPrototypeArrayEnvelope());
    expect(assertEnvelopeWithin(envelope, 1_000_000, 'test', 't')).toBe(encodeEnvelope(envelope).byteLength);
  });

  it('measures an envelope exactly as its encoding', () => {
    const envelope = createEnvelope({
      kind: 'message',
      key: 'wf-1',
      headers: { 'x-é': 'ü "quoted"' },
      payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x'.repeat(1_024) }] },
    });
    expect(envelopeByteLength(envelope)).toBe(stringified(envelope));
  });
});

describe('assertEnvelopeWithin', () => {
  const unit = fc.oneof({ weight: 30, arbitrary: fc.constant('x') }, fc.constantFrom('"', '\\', '\n', '\u0001', '\u007f', 'é', '€', '\ud800', '😀'));
  const envelopes = fc
    .record({ text: fc.string({ unit, maxLength: 1_500, size: 'max' }), note: fc.string({ unit, maxLength: 40 }) })
    .map(({ text, note }) =>
      createEnvelope({ kind: 'message', key: 'k', headers: { note }, payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text }] } }),
    );

  it('refuses exactly the envelopes whose encoding is over the limit, even when escapes or non-ASCII characters decide it', () => {
    fc.assert(
      fc.property(envelopes, fc.integer({ min: -40, max: 40 }), (envelope, offset) => {
        const exact = stringified(envelope);
        const limit = exact + offset; // around the size: a few bytes of escapes decide
        let refused = false;
        try {
          assertEnvelopeWithin(envelope, limit, 'memory', 't');
        } catch (error) {
          refused = error instanceof PayloadTooLargeError;
        }
        return refused === exact > limit;
      }),
      { numRuns: 3_000 },
    );
  });

  it('as text (encodeEnvelopeTextWithin): the same JSON as the bytes, refused exactly when its UTF-8 is over the limit', () => {
    fc.assert(
      fc.property(envelopes, fc.integer({ min: -40, max: 40 }), fc.boolean(), (envelope, offset, far) => {
        const bytes = encodeEnvelope(envelope);
        // Near the size, and (far) a limit where the text's length alone could not decide it.
        const limit = far ? Math.floor(bytes.byteLength / 2) + offset : bytes.byteLength + offset;
        let text: string | undefined;
        try {
          text = encodeEnvelopeTextWithin(envelope, limit, 'redis', 't');
        } catch (error) {
          return error instanceof PayloadTooLargeError && bytes.byteLength > limit;
        }
        return bytes.byteLength <= limit && text === bytes.toString('utf8');
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuses a text of control characters and lone surrogates (6 bytes of JSON per unit) one byte over the limit', () => {
    for (const unit of ['\u0001', '\ud800']) {
      const envelope = createEnvelope({ kind: 'message', key: 'k', payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: unit.repeat(3_000) }] } });
      const exact = stringified(envelope);
      expect(() => assertEnvelopeWithin(envelope, exact - 1, 'memory', 't')).toThrow(PayloadTooLargeError);
      expect(assertEnvelopeWithin(envelope, exact, 'memory', 't')).toBe(exact);
    }
  });

  it('returns a size that counts strings in UTF-16 units (plain ASCII: exactly the encoded size)', () => {
    fc.assert(
      fc.property(envelopes, (envelope) => {
        const size = assertEnvelopeWithin(envelope, 1_048_576, 'memory', 't');
        const units = (value: unknown): number =>
          typeof value === 'string' ? value.length + 2 : Buffer.byteLength(JSON.stringify(value, (_, v) => (typeof v === 'string' ? 'x'.repeat(v.length) : v)));
        return size === units(envelope);
      }),
      { numRuns: 2_000 },
    );
    const ascii = createEnvelope({ kind: 'message', key: 'k', payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'plain text' }] } });
    expect(assertEnvelopeWithin(ascii, 1_048_576, 'memory', 't')).toBe(stringified(ascii));
  });
});
