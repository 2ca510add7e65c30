/**
 * Refusals that name a field, in our own words: "body.settings.rounds: expected an integer
 * from 1 to 100000". What a validator says ("must be integer", "Expected integer to be greater
 * or equal to 1") never reaches a client; we read the schema and say what it expects. And
 * untrusted input is measured (depth, field count) without recursion before anything walks it.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';

/** The JSON-schema keywords our TypeBox schemas use; enough to say what a field expects. */
export interface SchemaLike {
  type?: string | string[];
  const?: unknown;
  anyOf?: SchemaLike[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, SchemaLike>;
  patternProperties?: Record<string, SchemaLike>;
  additionalProperties?: boolean | SchemaLike;
  items?: SchemaLike;
}

/** A field that does not hold what it should: `path` names it ("settings.stage2.poolSize"). */
export class FieldError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
  }
}

/** A key as it appears in a path: user-supplied keys are cut short so that a refusal stays short. */
function keyText(key: string): string {
  return key.length > 40 ? `${key.slice(0, 40)}…` : key;
}

/** "/stage2/poolSize" under root "settings" → "settings.stage2.poolSize" (JSON-pointer escapes undone). */
export function fieldPath(root: string, pointer: string): string {
  const keys = pointer.split('/').slice(1).map((k) => keyText(k.replaceAll('~1', '/').replaceAll('~0', '~')));
  return [root, ...keys].join('.');
}

/** The sub-schema a JSON pointer leads to, or undefined when the schema does not say. */
export function schemaAt(schema: SchemaLike | undefined, pointer: string): SchemaLike | undefined {
  let at = schema;
  for (const raw of pointer.split('/').slice(1)) {
    if (!at) return undefined;
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const branch = at.anyOf?.find((s) => s.properties && Object.hasOwn(s.properties, key));
    if (branch) at = branch;
    if (at.properties && Object.hasOwn(at.properties, key)) at = at.properties[key];
    else if (at.patternProperties) at = Object.values(at.patternProperties)[0];
    else if (typeof at.additionalProperties === 'object') at = at.additionalProperties;
    else if (at.items && /^\d+$/.test(key)) at = at.items;
    else return undefined;
  }
  return at;
}

function bounds(s: SchemaLike): string {
  const low = s.minimum !== undefined ? { n: s.minimum, inclusive: true } : s.exclusiveMinimum !== undefined ? { n: s.exclusiveMinimum, inclusive: false } : undefined;
  const high = s.maximum !== undefined ? { n: s.maximum, inclusive: true } : s.exclusiveMaximum !== undefined ? { n: s.exclusiveMaximum, inclusive: false } : undefined;
  if (low?.inclusive && high?.inclusive) return ` from ${low.n} to ${high.n}`;
  const parts = [
    low && (low.inclusive ? `at least ${low.n}` : `greater than ${low.n}`),
    high && (high.inclusive ? `at most ${high.n}` : `less than ${high.n}`),
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

function lengths(s: SchemaLike): string {
  if (s.minLength !== undefined && s.maxLength !== undefined) return ` of ${s.minLength} to ${s.maxLength} characters`;
  if (s.maxLength !== undefined) return ` of at most ${s.maxLength} characters`;
  if (s.minLength !== undefined) return ` of at least ${s.minLength} characters`;
  return '';
}

/** What a value of this schema looks like, as the object of "expected ...". */
export function expectation(schema: SchemaLike | undefined): string {
  if (!schema) return 'a valid value';
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.anyOf) {
    if (schema.anyOf.every((s) => s.const !== undefined)) return `one of ${schema.anyOf.map((s) => JSON.stringify(s.const)).join(', ')}`;
    return schema.anyOf.map(expectation).join(' or ');
  }
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case 'string': return `a string${lengths(schema)}`;
    case 'integer': return `an integer${bounds(schema)}`;
    case 'number': return `a number${bounds(schema)}`;
    case 'boolean': return 'true or false';
    case 'object': return 'an object';
    case 'array': return 'an array';
    case 'null': return 'null';
    default: return 'a valid value';
  }
}

/**
 * The first way `value` breaks `schema`, as a FieldError under `root` in our words (undefined
 * when it fits): "settings.stage2.poolSize: expected an integer from 10 to 100000".
 */
export function firstFieldError(schema: TSchema, value: unknown, root: string): FieldError | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const problem = first.type === ValueErrorType.ObjectAdditionalProperties ? 'unknown field'
    : first.type === ValueErrorType.ObjectRequiredProperty ? 'required' : `expected ${expectation(first.schema as SchemaLike)}`;
  return new FieldError(fieldPath(root, first.path), problem);
}

export interface SizeLimits {
  /** Objects and arrays nested deeper than this under the root are refused. */
  maxDepth: number;
  /** Fields and array items counted over the whole value. */
  maxEntries: number;
}

/**
 * Refuses a value nested deeper or holding more entries than `limits`, naming the path where it
 * went too deep. Iterative (an explicit stack), so a value nested 10,000 deep costs no call stack;
 * it stops at the first excess, so an absurd value costs no more than the limits allow.
 */
export function checkBounded(value: unknown, root: string, limits: SizeLimits): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  let entries = 0;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth > limits.maxDepth) throw new FieldError(item.path, `nested deeper than ${limits.maxDepth} levels`);
    for (const key in item.value) {
      if (!Object.hasOwn(item.value, key)) continue;
      if (++entries > limits.maxEntries) throw new FieldError(root, `more than ${limits.maxEntries} fields in all`);
      stack.push({ value: (item.value as Record<string, unknown>)[key], path: `${item.path}.${keyText(key)}`, depth: item.depth + 1 });
    }
  }
}
