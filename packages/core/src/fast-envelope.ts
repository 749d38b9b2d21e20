import type { z } from 'zod';
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

function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const string: Check = (v) => (typeof v === 'string' ? v : NO);
const nonEmpty: Check = (v) => (typeof v === 'string' && v.length >= 1 ? v : NO);
const lengthWithin =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max ? v : NO;
/** Remembers the last string that matched: envelopes created in one millisecond share their `createdAt`. */
const matching = (pattern: RegExp): Check => {
  let matched: string | undefined;
  return (v) => {
    if (v === matched) return v;
    if (typeof v !== 'string' || !pattern.test(v)) return NO;
    matched = v;
    return v;
  };
};
const oneOf = (values: readonly string[]): Check => {
  const allowed = new Set(values);
  return (v) => (typeof v === 'string' && allowed.has(v) ? v : NO);
};
const boolean: Check = (v) => (typeof v === 'boolean' ? v : NO);
const unknown: Check = (v) => v;
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined ? undefined : check(v);
/** Declines any value but an absent one: the field is left to zod. */
const leftToZod: Check = (v) => (v === undefined ? undefined : NO);

function arrayOf(check: Check): Check {
  return (v) => {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return NO;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i += 1) {
      const item = check(v[i]);
      if (item === NO) return NO;
      out[i] = item;
    }
    return out;
  };
}

function recordOf(check: Check): Check {
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const out: Obj = {};
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return NO;
      const item = check(v[key]);
      if (item === NO) return NO;
      out[key] = item;
    }
    return out;
  };
}

/**
 * A zod object: shape fields in shape order (an optional one present as `undefined` stays), then — for a loose one — unknown keys as they come.
 * Compiled once per object type into straight-line code with the field names as constants
 * (keyed loads and stores with varying names are what made a generic loop slower than zod);
 * where code generation is not allowed, the same steps run as a loop.
 */
function objectOf(compile: boolean, fields: Fields, loose: boolean, refine?: (out: Obj) => boolean): Check {
  const known = new Set(fields.map(([key]) => key));
  const checks = fields.map(([, check]) => check);
  const extras = (v: Obj, out: Obj): boolean => {
    for (const key in v) {
      if (known.has(key)) continue;
      if (key === '__proto__') return false;
      out[key] = v[key];
    }
    return true;
  };
  const compiled = compile ? compileFields(fields.map(([key]) => key)) : undefined;
  if (compiled) {
    return (v) => {
      if (!isPlainObject(v)) return NO;
      const out = compiled(v, checks, NO);
      if (out === NO) return NO;
      if (loose && !extras(v, out as Obj)) return NO;
      return refine && !refine(out as Obj) ? NO : out;
    };
  }
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const out: Obj = {};
    for (const [key, check] of fields) {
      const value = check(v[key]);
      if (value === NO) return NO;
      if (value !== undefined || key in v) out[key] = value;
    }
    if (loose && !extras(v, out)) return NO;
    return refine && !refine(out) ? NO : out;
  };
}

type CompiledFields = (v: Obj, checks: readonly Check[], no: Declined) => Obj | Declined;

/** `new Function` over the field names (constants of this module, JSON-quoted). */
function compileFields(keys: readonly string[]): CompiledFields {
  const lines = keys.map((key, i) => {
    const name = JSON.stringify(key);
    return `x = checks[${i}](v[${name}]); if (x === no) return no; if (x !== undefined || ${name} in v) out[${name}] = x;`;
  });
  return new Function('v', 'checks', 'no', `const out = {}; let x;\n${lines.join('\n')}\nreturn out;`) as CompiledFields;
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
function singleKeyUnion(byKey: Readonly<Record<string, Check>>): Check {
  const options = new Map(Object.entries(byKey)); // a key such as `__proto__` must find nothing
  return (v) => {
    if (!isPlainObject(v)) return NO;
    const keys = Object.keys(v);
    if (keys.length !== 1) return NO;
    const check = options.get(keys[0]!);
    if (check === undefined) return NO;
    const inner = check(v[keys[0]!]);
    return inner === NO ? NO : { [keys[0]!]: inner };
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
function payloadChecks(compile: boolean): Readonly<Record<string, Check>> {
  const metadata = optional(recordOf(unknown));

  const part = objectOf(
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
    compile,
    sameFields(
      'message',
      [
        ['messageId', nonEmpty],
        ['contextId', optional(string)],
        ['taskId', optional(string)],
        ['role', oneOf(roleSchema.options)],
        ['parts', arrayOf(part)],
        ['metadata', metadata],
        ['extensions', optional(arrayOf(string))],
        ['referenceTaskIds', optional(arrayOf(string))],
      ],
      messageSchema,
    ),
    true,
  );

  const taskStatus = objectOf(
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
    compile,
    sameFields(
      'artifact',
      [
        ['artifactId', nonEmpty],
        ['name', optional(string)],
        ['description', optional(string)],
        ['parts', arrayOf(part)],
        ['metadata', metadata],
      ],
      artifactSchema,
    ),
    true,
  );

  const task = objectOf(
    compile,
    sameFields(
      'task',
      [
        ['id', nonEmpty],
        ['contextId', string],
        ['status', taskStatus],
        ['artifacts', optional(arrayOf(artifact))],
        ['history', optional(arrayOf(message))],
        ['metadata', metadata],
      ],
      taskSchema,
    ),
    true,
  );

  const streamResponse = singleKeyUnion({
    task,
    message,
    statusUpdate: objectOf(
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

/** Builds the fast path for the envelope schema described by `shape` (see `FAST_PATH_DECLINED`). */
export function fastEnvelopeParser(shape: FastEnvelopeShape, compile = codeGeneration): (input: unknown) => Obj | Declined {
  const payloads = payloadChecks(compile);
  const header = (payload: Check): Check =>
    objectOf(
      compile,
      sameFields(
        'envelope',
        [
          ['v', (v) => (v === shape.version ? v : NO)],
          ['id', lengthWithin(1, 256)],
          ['key', lengthWithin(1, 1024)],
          ['correlationId', optional(nonEmpty)],
          ['replyTo', optional(nonEmpty)],
          ['attempt', optional((v) => (Number.isSafeInteger(v) && (v as number) >= 1 ? v : NO))],
          ['createdAt', matching(shape.timestamp)],
          ['deadline', optional(matching(shape.timestamp))],
          ['traceparent', optional(matching(shape.traceparent))],
          ['a2aVersion', nonEmpty],
          ['contentType', nonEmpty],
          ['sender', optional(nonEmpty)],
          ['headers', optional(recordOf(string))],
          ['kind', string],
          ['payload', payload],
        ],
        shape.messageOption,
      ),
      false,
    );
  const byKind = new Map(Object.entries(payloads).map(([kind, payload]) => [kind, header(payload)]));
  return (input) => {
    if (!isPlainObject(input)) return NO;
    const parse = byKind.get(input.kind as string);
    return parse === undefined ? NO : (parse(input) as Obj | Declined);
  };
}

/** The pattern zod checks an ISO datetime string against (read from the schema, never copied). */
export function patternOf(schema: z.ZodType): RegExp {
  const pattern = (schema as unknown as { _zod: { def: { pattern?: unknown } } })._zod.def.pattern;
  if (!(pattern instanceof RegExp)) throw new Error('fast envelope path: the timestamp schema has no pattern');
  return pattern;
}
