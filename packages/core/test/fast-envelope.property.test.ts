import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeSchema, FAST_ENVELOPE_SHAPE, fastParseEnvelope } from '../src/envelope.js';
import { codeGeneration, FAST_PATH_DECLINED, fastEnvelopeParser } from '../src/fast-envelope.js';
import { measureJson } from '../src/json-size.js';
import { propertyParams } from './support/fast-check.js';

/**
 * The hand-written fast path must never disagree with zod: whatever it accepts, zod accepts,
 * and its copy has the same keys in the same order, the same values and the same shared
 * references. Valid envelopes of the kinds it covers must take it (else it is dead code).
 */

type Tree = unknown;

/** Same own keys in the same order, same prototypes, same leaves (Object.is), recursively. */
function sameStructure(a: Tree, b: Tree, path = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : `${path}: ${String(a)} ≠ ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
  const keysA = Reflect.ownKeys(a).map(String);
  const keysB = Reflect.ownKeys(b).map(String);
  if (keysA.join('\u0000') !== keysB.join('\u0000')) return `${path}: keys [${keysA}] ≠ [${keysB}]`;
  for (const key of keysA) {
    const difference = sameStructure((a as Record<string, Tree>)[key], (b as Record<string, Tree>)[key], `${path}.${key}`);
    if (difference) return difference;
  }
  return undefined;
}

const text = (maxLength = 12) => fc.string({ unit: 'binary', maxLength });
const nonEmpty = (maxLength = 12) => fc.string({ unit: 'binary', minLength: 1, maxLength });
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const timestamp = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  },
  fc.constantFrom('2024-02-29T10:00:00+02:00', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01', 'now'),
);
const json = (maxDepth: number) => fc.jsonValue({ maxDepth }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
/** A key a2a-bus does not know, sometimes one it does (then on the wrong object), sometimes `__proto__`. */
const extraKey = fc.oneof(text(6), fc.constantFrom('__proto__', 'kind', 'id', 'text', 'message', 'toString', 'constructor'));
/** Loose objects carry unknown fields through; optional fields may be present as `undefined`. */
const withExtras = (record: fc.Arbitrary<object>) =>
  fc.tuple(record, fc.dictionary(extraKey, fc.oneof(json(2), fc.constant(undefined)), { maxKeys: 2 })).map(([value, extra]) => {
    const out: Record<string, unknown> = { ...value };
    for (const [key, item] of Object.entries(extra))
      if (!(key in out)) Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    return out;
  });
/** Mostly the valid value, now and then one zod refuses. */
const mostly = <T>(valid: fc.Arbitrary<T>, ...invalid: T[]) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom(...invalid) });
const maybeUndefined = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(undefined) });
const metadata = fc.dictionary(text(6), json(2), { maxKeys: 3 });

const part = withExtras(
  fc
    .oneof(
      fc.record({ text: text(40), mediaType: maybeUndefined(text()) }, { requiredKeys: ['text'] }),
      fc.record({ url: text(), filename: text(), metadata }, { requiredKeys: ['url'] }),
      fc.record({ data: json(3) }),
      fc.record({ raw: fc.constantFrom('aGVsbG8=', 'not base64!') }),
      fc.record({ data: fc.constant(undefined), text: text() }),
    )
    .chain((valid) => mostly(fc.constant(valid) as fc.Arbitrary<Record<string, unknown>>, { text: 't', url: 'u' }, { mediaType: 'm' })),
);
const message = withExtras(
  fc.record(
    {
      messageId: mostly(nonEmpty(), ''),
      contextId: maybeUndefined(text()),
      taskId: text(),
      role: mostly(fc.constantFrom('ROLE_USER', 'ROLE_AGENT'), 'ROLE_UNKNOWN'),
      parts: fc.array(part, { maxLength: 3 }),
      metadata,
      extensions: fc.array(text(), { maxLength: 2 }),
      referenceTaskIds: fc.array(text(), { maxLength: 2 }),
    },
    { requiredKeys: ['messageId', 'role', 'parts'] },
  ),
);
const status = withExtras(
  fc.record(
    { state: mostly(fc.constantFrom('TASK_STATE_WORKING', 'TASK_STATE_COMPLETED', 'TASK_STATE_FAILED'), 'TASK_STATE_NOPE'), message, timestamp: text() },
    { requiredKeys: ['state'] },
  ),
);
const artifact = withExtras(
  fc.record(
    { artifactId: nonEmpty(), name: text(), description: maybeUndefined(text()), parts: fc.array(part, { maxLength: 2 }), metadata },
    { requiredKeys: ['artifactId', 'parts'] },
  ),
);
const task = withExtras(
  fc.record(
    { id: nonEmpty(), contextId: text(), status, artifacts: fc.array(artifact, { maxLength: 2 }), history: fc.array(message, { maxLength: 2 }), metadata },
    { requiredKeys: ['id', 'contextId', 'status'] },
  ),
);
const streamResponse = fc.oneof(
  fc.record({ task }),
  fc.record({ message }),
  fc.record({
    statusUpdate: withExtras(fc.record({ taskId: nonEmpty(), contextId: text(), status, metadata }, { requiredKeys: ['taskId', 'contextId', 'status'] })),
  }),
  fc.record({
    artifactUpdate: withExtras(
      fc.record(
        { taskId: nonEmpty(), contextId: text(), artifact, append: fc.boolean(), lastChunk: fc.boolean(), metadata },
        { requiredKeys: ['taskId', 'contextId', 'artifact'] },
      ),
    ),
  }),
  fc.constantFrom(
    { task: { id: 't', contextId: 'c', status: { state: 'TASK_STATE_WORKING' } }, message: { messageId: 'm', role: 'ROLE_USER', parts: [] } },
    {},
  ),
);

const envelope = fc
  .record(
    {
      v: mostly<unknown>(fc.constant(1), 2, '1'),
      id: mostly(nonEmpty(40), '', 'i'.repeat(257)),
      key: mostly(nonEmpty(40), '', 'k'.repeat(1_025)),
      correlationId: maybeUndefined(nonEmpty()),
      replyTo: nonEmpty(),
      attempt: mostly(fc.integer({ min: 1, max: 10 }), 0, 1.5, 2 ** 53, Number.NaN),
      createdAt: timestamp,
      deadline: maybeUndefined(timestamp),
      traceparent: mostly(
        fc.tuple(hex(2), hex(32), hex(16), hex(2)).map((p) => p.join('-')),
        '00-xyz',
        '',
      ),
      a2aVersion: mostly(fc.constant('1.0'), ''),
      contentType: fc.constant('application/a2a+json'),
      sender: nonEmpty(),
      headers: mostly(fc.dictionary(text(6), text(), { maxKeys: 3 }) as fc.Arbitrary<Record<string, unknown>>, { n: 1 }, { s: null }),
      kind: fc.constantFrom('message', 'task', 'stream-response'),
      unknownTopLevel: json(1),
    },
    { requiredKeys: ['v', 'id', 'key', 'createdAt', 'a2aVersion', 'contentType', 'kind'] },
  )
  .chain((head) =>
    (head.kind === 'message' ? message : head.kind === 'task' ? task : streamResponse).map((payload) => ({ ...head, payload }) as Record<string, unknown>),
  );

/** Breaks one node of an envelope: replaces it with anything (class instances, arrays, null-prototype objects, boxed values…), deletes it, or adds a key. */
function mutated(base: fc.Arbitrary<Record<string, unknown>>) {
  return fc
    .tuple(
      base,
      fc.nat(),
      fc.constantFrom('replace', 'delete', 'add'),
      fc.anything({ withNullPrototype: true, withBoxedValues: true, withDate: true, withMap: true, withSparseArray: true, maxDepth: 2 }),
      extraKey,
    )
    .map(([root, pick, how, value, key]) => {
      const copy = structuredClone(root);
      const containers: Record<string, unknown>[] = [];
      const walk = (node: unknown): void => {
        if (typeof node !== 'object' || node === null) return;
        containers.push(node as Record<string, unknown>);
        for (const child of Object.values(node)) walk(child);
      };
      walk(copy);
      const target = containers[pick % containers.length]!;
      const keys = Object.keys(target);
      const chosen = keys.length ? keys[pick % keys.length]! : key;
      // An array's `length` set to anything but a valid length throws; a generated key can be
      // 'length' (also as `chosen`, for an empty array). Such a mutation is skipped.
      if (Array.isArray(target) && (how === 'add' ? key : chosen) === 'length') return copy;
      // Reflect: a boxed string's indices cannot be deleted or set; such a mutation is skipped.
      if (how === 'replace') Reflect.set(target, chosen, value);
      else if (how === 'delete') Reflect.deleteProperty(target, chosen);
      else Reflect.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
      return copy;
    });
}

it('compiles its checks in this process (the loop form is for processes that forbid code generation)', () => {
  expect(codeGeneration).toBe(true);
});

describe.each([
  ['compiled', fastParseEnvelope],
  ['as loops', fastEnvelopeParser(FAST_ENVELOPE_SHAPE, false)],
])('the fast envelope path (%s) agrees with zod', (_, fastParseEnvelope) => {
  it('whatever it accepts, zod accepts, with the same copy (keys, order, values)', () => {
    fc.assert(
      fc.property(fc.oneof(envelope, mutated(envelope)), (input) => {
        const fast = fastParseEnvelope(input);
        if (fast === FAST_PATH_DECLINED) return;
        const zod = envelopeSchema.safeParse(input);
        expect(zod.success ? undefined : zod.error.issues).toBeUndefined();
        expect(sameStructure(fast, zod.data)).toBeUndefined();
        // What it measured as it copied is what the generic walk measures of the copy.
        const estimate = { units: 0 };
        const size = measureJson(fast, estimate);
        expect({ size: fastParseEnvelope.measured.size, units: fastParseEnvelope.measured.units }).toEqual({ size, units: estimate.units });
      }),
      propertyParams(3_000),
    );
  });

  it('takes every valid message, task and stream-response envelope without raw parts or __proto__ keys', () => {
    let taken = 0;
    fc.assert(
      fc.property(envelope, (input) => {
        const zod = envelopeSchema.safeParse(input);
        const hasKey = (node: unknown, name: string): boolean =>
          typeof node === 'object' && node !== null && (Object.hasOwn(node, name) || Object.values(node).some((child) => hasKey(child, name)));
        const declinable = hasKey(input, 'raw') || hasKey(input, '__proto__');
        const fast = fastParseEnvelope(input);
        if (!zod.success) {
          expect(fast).toBe(FAST_PATH_DECLINED);
          return;
        }
        if (declinable) return;
        expect(fast).not.toBe(FAST_PATH_DECLINED);
        taken += 1;
      }),
      propertyParams(3_000),
    );
    expect(taken).toBeGreaterThan(100);
  });

  it('measures what JSON leaves out as JSON does: functions, symbols and undefined in objects, and values it cannot write', () => {
    const base = {
      v: 1,
      id: 'i',
      key: 'k',
      attempt: 12,
      createdAt: '2026-11-30T00:00:00.000Z',
      a2aVersion: '1.0',
      contentType: 'application/a2a+json',
      kind: 'message',
    };
    const odd = { f: () => 1, s: Symbol('s'), u: undefined, n: null, list: [undefined, () => 2, 'é', 1.5] };
    const input = {
      ...base,
      payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ data: odd }, { text: 't', metadata: odd }, { data: odd.f }], metadata: odd, extra: odd.f },
    };
    const fast = fastParseEnvelope(input);
    expect(fast).not.toBe(FAST_PATH_DECLINED);
    const estimate = { units: 0 };
    expect({ size: fastParseEnvelope.measured.size, units: fastParseEnvelope.measured.units }).toEqual({
      size: measureJson(fast, estimate),
      units: estimate.units,
    });
    // A BigInt cannot be written: the size is unknown (NaN), and whoever encodes the envelope says so.
    expect(fastParseEnvelope({ ...input, payload: { ...input.payload, metadata: { big: 1n } } })).not.toBe(FAST_PATH_DECLINED);
    expect(fastParseEnvelope.measured.size).toBeNaN();
  });

  it('leaves the input alone and shares strings and unknown values, as zod does', () => {
    const data = { nested: [1, 2] };
    const input = {
      v: 1,
      id: 'i',
      key: 'k',
      createdAt: '2026-11-30T00:00:00.000Z',
      a2aVersion: '1.0',
      contentType: 'application/a2a+json',
      kind: 'message',
      payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ data }], extra: data },
    };
    const before = JSON.stringify(input);
    const fast = fastParseEnvelope(input) as { payload: { parts: { data: unknown }[]; extra: unknown } };
    expect(JSON.stringify(input)).toBe(before);
    expect(fast.payload).not.toBe(input.payload);
    expect(fast.payload.parts).not.toBe(input.payload.parts);
    expect(fast.payload.parts[0]!.data).toBe(data);
    expect(fast.payload.extra).toBe(data);
  });
});
