import type { z } from 'zod';
import { keyByteLength, measureJson } from './json-size.js';
import {
  artifactSchema,
  messageSchema,
  partSchema,
  roleSchema,
  taskArtifactUpdateEventSchema,
  taskSchema,
  taskStateSchema,
  taskStatusSchema,
  taskStatusUpdateEventSchema,
} from './a2a/schema.js';

/**
 * The envelope schema's common cases checked without zod: zod builds a context and an issue
 * list for every field it visits, and that was the largest share of CPU and garbage on every
 * backend's publish and consume paths. A 1 KiB message envelope: zod 1.9-2.9 µs, this path
 * 0.5-0.6 µs (createEnvelope 5.4 → 2.3 µs on the same machine).
 *
 * The contract is one-sided: the parser `fastEnvelopeParser` returns gives exactly what zod's
 * `safeParse` would give as `data` — the same fields, in the same order, strings and unknown
 * values shared, objects and arrays copied — or `FAST_PATH_DECLINED`, and then zod decides
 * (and names what is wrong). It declines whatever it does not cover rather than guess:
 * envelope kinds other than message, task and stream-response, `raw` (base64) parts, objects
 * that are not plain (class instances, arrays where objects belong), keys named `__proto__`.
 * Property tests hold it to zod over valid and broken input alike; the field tables below are
 * checked against the zod shapes when this module loads, so the two cannot drift apart
 * unnoticed.
 */
export const FAST_PATH_DECLINED: unique symbol = Symbol('a2a-bus.fast-path-declined');
type Declined = typeof FAST_PATH_DECLINED;
const NO: Declined = FAST_PATH_DECLINED;

type Obj = Record<string, unknown>;
/** Returns the value as zod would output it (`undefined` for an absent optional), or `NO`. */
type Check = (value: unknown) => unknown;
type Fields = ReadonlyArray<readonly [string, Check]>;

/**
 * What the parser measures of the copy it returns, as it builds it: the JSON size that
 * `assertEnvelopeWithin` estimates (strings in UTF-16 units plus their quotes, everything
 * else exact) and the string units counted (the estimate's margin). `members` passes an
 * object's member count from its compiled fields to its extras. `size` is NaN when a value
 * could not be measured (JSON.stringify throws on it): then the caller measures itself.
 */
export interface JsonMeasure {
  size: number;
  units: number;
  members: number;
}

function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Whether JSON.stringify writes an object member holding `value` (it skips the rest). */
function written(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

/** The value checks, each adding what it accepts to `acc`. */
function primitives(acc: JsonMeasure) {
  const text = (v: string): string => {
    acc.size += v.length + 2;
    acc.units += v.length;
    return v;
  };
  const integer = (v: number): number => {
    acc.size += String(v).length;
    return v;
  };
  /** Any value, measured by the generic walk (it may run user code: `toJSON`, which may parse another envelope). */
  const unknown: Check = (v) => {
    if (!written(v)) return v;
    const { size, units } = acc;
    const estimate = { units: 0 };
    let measured: number;
    try {
      measured = measureJson(v, estimate);
    } catch {
      measured = Number.NaN; // e.g. a BigInt: whoever encodes the envelope reports it
    }
    acc.size = size + measured;
    acc.units = units + estimate.units;
    return v;
  };
  return {
    text,
    integer,
    unknown,
    string: ((v) => (typeof v === 'string' ? text(v) : NO)) as Check,
    nonEmpty: ((v) => (typeof v === 'string' && v.length >= 1 ? text(v) : NO)) as Check,
    lengthWithin:
      (min: number, max: number): Check =>
      (v) =>
        typeof v === 'string' && v.length >= min && v.length <= max ? text(v) : NO,
    /** Remembers the last string that matched: envelopes created in one millisecond share their `createdAt`. */
    matching: (pattern: RegExp): Check => {
      let matched: string | undefined;
      return (v) => {
        if (v === matched) return text(v as string);
        if (typeof v !== 'string' || !pattern.test(v)) return NO;
        matched = v;
        return text(v);
      };
    },
    oneOf: (values: readonly string[]): Check => {
      const allowed = new Set(values);
      return (v) => (typeof v === 'string' && allowed.has(v) ? text(v) : NO);
    },
    boolean: ((v) => {
      if (typeof v !== 'boolean') return NO;
      acc.size += v ? 4 : 5;
      return v;
    }) as Check,
  };
}

const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined ? undefined : check(v);
/** Declines any value but an absent one: the field is left to zod. */
const leftToZod: Check = (v) => (v === undefined ? undefined : NO);

function arrayOf(acc: JsonMeasure, check: Check): Check {
  return (v) => {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return NO;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i += 1) {
      const item = check(v[i]);
      if (item === NO) return NO;
      out[i] = item;
    }
    acc.size += v.length > 0 ? v.length + 1 : 2; // brackets and commas
    return out;
  };
}

function recordOf(acc: JsonMeasure, check: Check): Check {
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const out: Obj = {};
    let members = 0;
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return NO;
      const item = check(v[key]);
      if (item === NO) return NO;
      out[key] = item;
      if (written(item)) {
        acc.size += keyByteLength(key) + 1;
        members += 1;
      }
    }
    acc.size += 1 + Math.max(1, members); // braces and commas
    return out;
  };
}

/**
 * A zod object: shape fields in shape order (an optional one present as `undefined` stays), then — for a loose one — unknown keys as they come.
 * Compiled once per object type into straight-line code with the field names as constants
 * (keyed loads and stores with varying names are what made a generic loop slower than zod);
 * where code generation is not allowed, the same steps run as a loop.
 */
function objectOf(acc: JsonMeasure, compile: boolean, fields: Fields, loose: boolean, refine?: (out: Obj) => boolean): Check {
  const known = new Set(fields.map(([key]) => key));
  const checks = fields.map(([, check]) => check);
  const keySizes = fields.map(([key]) => keyByteLength(key) + 1); // the name, its quotes and the colon
  const { unknown } = primitives(acc);
  /** Copies (and measures) the unknown keys; the members added, or -1 to decline. */
  const extras = (v: Obj, out: Obj): number => {
    let added = 0;
    for (const key in v) {
      if (known.has(key)) continue;
      if (key === '__proto__') return -1;
      const value = unknown(v[key]);
      out[key] = value;
      if (written(value)) {
        acc.size += keyByteLength(key) + 1;
        added += 1;
      }
    }
    return added;
  };
  const close = (v: Obj, out: Obj, members: number): unknown => {
    if (loose) {
      const added = extras(v, out);
      if (added < 0) return NO;
      members += added;
    }
    acc.size += 1 + Math.max(1, members); // braces and commas
    return refine && !refine(out) ? NO : out;
  };
  const compiled = compile ? compileFields(fields.map(([key]) => key)) : undefined;
  if (compiled) {
    return (v) => {
      if (!isPlainObject(v)) return NO;
      const out = compiled(v, checks, NO, acc, keySizes);
      return out === NO ? NO : close(v, out, acc.members);
    };
  }
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const out: Obj = {};
    let members = 0;
    for (let i = 0; i < fields.length; i += 1) {
      const key = fields[i]![0];
      const value = checks[i]!(v[key]);
      if (value === NO) return NO;
      if (value !== undefined || key in v) out[key] = value;
      if (written(value)) {
        acc.size += keySizes[i]!;
        members += 1;
      }
    }
    return close(v, out, members);
  };
}

type CompiledFields = (v: Obj, checks: readonly Check[], no: Declined, acc: JsonMeasure, keySizes: readonly number[]) => Obj | Declined;

/** `new Function` over the field names (constants of this module, JSON-quoted). Leaves the member count in `acc.members`. */
function compileFields(keys: readonly string[]): CompiledFields {
  const lines = keys.map((key, i) => {
    const name = JSON.stringify(key);
    return (
      `x = checks[${i}](v[${name}]); if (x === no) return no; if (x !== undefined || ${name} in v) out[${name}] = x;` +
      ` if (x !== undefined && typeof x !== 'function' && typeof x !== 'symbol') { acc.size += keySizes[${i}]; m += 1; }`
    );
  });
  return new Function(
    'v',
    'checks',
    'no',
    'acc',
    'keySizes',
    `const out = {}; let x; let m = 0;\n${lines.join('\n')}\nacc.members = m;\nreturn out;`,
  ) as CompiledFields;
}

/** Whether this process may compile code from strings (not under `--disallow-code-generation-from-strings`). */
export const codeGeneration = ((): boolean => {
  try {
    return new Function('return true')() === true;
  } catch {
    return false;
  }
})();

/** zod's strict-object union: exactly one key, the first option that matches. */
function singleKeyUnion(acc: JsonMeasure, byKey: Readonly<Record<string, Check>>): Check {
  const options = new Map(Object.entries(byKey)); // a key such as `__proto__` must find nothing
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const keys = Object.keys(v);
    if (keys.length !== 1) return NO;
    const check = options.get(keys[0]!);
    if (check === undefined) return NO;
    const inner = check(v[keys[0]!]);
    if (inner === NO) return NO;
    acc.size += keyByteLength(keys[0]!) + 3; // braces and colon
    return { [keys[0]!]: inner };
  };
}

/** Fails at load time if a table no longer lists the zod shape's fields in its order. */
function sameFields(name: string, fields: Fields, schema: { shape: Record<string, unknown> }): Fields {
  const expected = Object.keys(schema.shape).join(',');
  const actual = fields.map(([key]) => key).join(',');
  if (expected !== actual) throw new Error(`fast envelope path: ${name} fields ${actual} differ from the schema's ${expected}`);
  return fields;
}

/** The A2A payload checks, compiled or as loops. */
function payloadChecks(acc: JsonMeasure, compile: boolean): Readonly<Record<string, Check>> {
  const { string, nonEmpty, oneOf, boolean, unknown } = primitives(acc);
  const metadata = optional(recordOf(acc, unknown));

  const part = objectOf(
    acc,
    compile,
    sameFields(
      'part',
      [
        ['text', optional(string)],
        ['raw', leftToZod],
        ['url', optional(string)],
        ['data', unknown],
        ['mediaType', optional(string)],
        ['filename', optional(string)],
        ['metadata', metadata],
      ],
      partSchema,
    ),
    true,
    (out) => (out.text !== undefined ? 1 : 0) + (out.url !== undefined ? 1 : 0) + (out.data !== undefined ? 1 : 0) === 1,
  );

  const message = objectOf(
    acc,
    compile,
    sameFields(
      'message',
      [
        ['messageId', nonEmpty],
        ['contextId', optional(string)],
        ['taskId', optional(string)],
        ['role', oneOf(roleSchema.options)],
        ['parts', arrayOf(acc, part)],
        ['metadata', metadata],
        ['extensions', optional(arrayOf(acc, string))],
        ['referenceTaskIds', optional(arrayOf(acc, string))],
      ],
      messageSchema,
    ),
    true,
  );

  const taskStatus = objectOf(
    acc,
    compile,
    sameFields(
      'task status',
      [
        ['state', oneOf(taskStateSchema.options)],
        ['message', optional(message)],
        ['timestamp', optional(string)],
      ],
      taskStatusSchema,
    ),
    true,
  );

  const artifact = objectOf(
    acc,
    compile,
    sameFields(
      'artifact',
      [
        ['artifactId', nonEmpty],
        ['name', optional(string)],
        ['description', optional(string)],
        ['parts', arrayOf(acc, part)],
        ['metadata', metadata],
      ],
      artifactSchema,
    ),
    true,
  );

  const task = objectOf(
    acc,
    compile,
    sameFields(
      'task',
      [
        ['id', nonEmpty],
        ['contextId', string],
        ['status', taskStatus],
        ['artifacts', optional(arrayOf(acc, artifact))],
        ['history', optional(arrayOf(acc, message))],
        ['metadata', metadata],
      ],
      taskSchema,
    ),
    true,
  );

  const streamResponse = singleKeyUnion(acc, {
    task,
    message,
    statusUpdate: objectOf(
      acc,
      compile,
      sameFields(
        'status update',
        [
          ['taskId', nonEmpty],
          ['contextId', string],
          ['status', taskStatus],
          ['metadata', metadata],
        ],
        taskStatusUpdateEventSchema,
      ),
      true,
    ),
    artifactUpdate: objectOf(
      acc,
      compile,
      sameFields(
        'artifact update',
        [
          ['taskId', nonEmpty],
          ['contextId', string],
          ['artifact', artifact],
          ['append', optional(boolean)],
          ['lastChunk', optional(boolean)],
          ['metadata', metadata],
        ],
        taskArtifactUpdateEventSchema,
      ),
      true,
    ),
  });
  return { message, task, 'stream-response': streamResponse };
}

export interface FastEnvelopeShape {
  /** The envelope schema's option for kind `message`: its shape gives the header fields and their order. */
  readonly messageOption: { shape: Record<string, unknown> };
  readonly version: number;
  /** zod's own datetime pattern (with offset), as the schema uses it. */
  readonly timestamp: RegExp;
  readonly traceparent: RegExp;
}

/** The fast path's parser, and what it measured of the copy it returned last. */
export interface FastEnvelopeParser {
  (input: unknown): Obj | Declined;
  /** After a parse that did not decline: the copy's JSON size as `assertEnvelopeWithin` estimates it (see `JsonMeasure`). */
  readonly measured: Readonly<JsonMeasure>;
}

/** Builds the fast path for the envelope schema described by `shape` (see `FAST_PATH_DECLINED`). */
export function fastEnvelopeParser(shape: FastEnvelopeShape, compile = codeGeneration): FastEnvelopeParser {
  const acc: JsonMeasure = { size: 0, units: 0, members: 0 };
  const { integer, nonEmpty, lengthWithin, matching, string } = primitives(acc);
  const payloads = payloadChecks(acc, compile);
  const header = (payload: Check): Check =>
    objectOf(
      acc,
      compile,
      sameFields(
        'envelope',
        [
          ['v', (v) => (v === shape.version ? integer(v) : NO)],
          ['id', lengthWithin(1, 256)],
          ['key', lengthWithin(1, 1024)],
          ['correlationId', optional(nonEmpty)],
          ['replyTo', optional(nonEmpty)],
          ['attempt', optional((v) => (Number.isSafeInteger(v) && (v as number) >= 1 ? integer(v as number) : NO))],
          ['createdAt', matching(shape.timestamp)],
          ['deadline', optional(matching(shape.timestamp))],
          ['traceparent', optional(matching(shape.traceparent))],
          ['a2aVersion', nonEmpty],
          ['contentType', nonEmpty],
          ['sender', optional(nonEmpty)],
          ['headers', optional(recordOf(acc, string))],
          ['kind', string],
          ['payload', payload],
        ],
        shape.messageOption,
      ),
      false,
    );
  const byKind = new Map(Object.entries(payloads).map(([kind, payload]) => [kind, header(payload)]));
  const parse = (input: unknown): Obj | Declined => {
    acc.size = 0;
    acc.units = 0;
    if (!isPlainObject(input)) return NO;
    const parseKind = byKind.get(input.kind as string);
    return parseKind === undefined ? NO : (parseKind(input) as Obj | Declined);
  };
  return Object.assign(parse, { measured: acc });
}

/** The pattern zod checks an ISO datetime string against (read from the schema, never copied). */
export function patternOf(schema: z.ZodType): RegExp {
  const pattern = (schema as unknown as { _zod: { def: { pattern?: unknown } } })._zod.def.pattern;
  if (!(pattern instanceof RegExp)) throw new Error('fast envelope path: the timestamp schema has no pattern');
  return pattern;
}
