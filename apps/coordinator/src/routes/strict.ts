/**
 * The REST API's strict edges. Bodies are validated as sent: no coercion ("5" is not 5), no
 * trimming of unknown fields (they are refused), no defaults filled in by the validator. Path
 * numbers parse only when the whole segment does. Query parameters an API route does not take
 * are refused, not ignored. Every refusal is `{ code, message }` with a
 * code from the protocol's catalogue and a message in our words: what a framework or library
 * said, and any 5xx detail, go to the log, never to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { protocolError, type ErrorCode } from '@fedtsa/protocol/errors';
import { expectation, fieldPath, schemaAt, type SchemaLike } from '../field-errors.ts';
import { CLIENTS_QUERY } from '../runs/live-clients.ts';

/** Fastify's `ajv` option: its defaults coerce types, drop unknown fields and fill defaults. */
export const STRICT_AJV = { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } } as const;

export function refuse(reply: FastifyReply, status: number, code: ErrorCode, detail?: string) {
  return reply.code(status).send(protocolError(code, detail));
}

/**
 * A path segment as a non-negative integer up to `max`, or undefined. Only plain decimal digits
 * without a leading zero parse: "1abc", "1.0", " 1", "+1", "0x1", "1e1", "01" and "" do not
 * (Number() and parseInt would accept some of them).
 */
export function parseIndex(text: string, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

/** True for a request that carries no body: nothing, an empty text or `{}`. */
export function isEmptyBody(body: unknown): boolean {
  if (body === undefined || body === '') return true;
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0;
}

interface AjvError { keyword: string; instancePath: string; params: Record<string, unknown> }

/** The first validation error of a request part, as "body.name: expected a string of at most 200 characters". */
function describeValidation(err: FastifyError, req: FastifyRequest): string {
  const part = (err.validationContext ?? 'body') as keyof FastifySchema;
  const root = part === 'querystring' ? 'query' : String(part);
  const first = err.validation?.[0] as AjvError | undefined;
  if (!first) return root;
  const { keyword, instancePath, params } = first;
  if (keyword === 'additionalProperties') return `${fieldPath(root, `${instancePath}/${String(params.additionalProperty)}`)}: unknown field`;
  if (keyword === 'required') return `${fieldPath(root, `${instancePath}/${String(params.missingProperty)}`)}: required`;
  const schema = req.routeOptions.schema?.[part] as SchemaLike | undefined;
  return `${fieldPath(root, instancePath)}: expected ${expectation(schemaAt(schema, instancePath))}`;
}

/** Fastify's own request errors, by code, in our words; undefined for anything else. */
const FRAMEWORK_REFUSALS: Record<string, { status: number; code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'FEDTSA_ERR_INVALID_PAYLOAD', detail: 'body: not valid JSON, or it holds a __proto__ or constructor.prototype key' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'FEDTSA_ERR_INVALID_PAYLOAD', detail: 'body: empty although its content type says JSON' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'FEDTSA_ERR_INVALID_PAYLOAD', detail: 'content type: not accepted; send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'FEDTSA_ERR_INVALID_PAYLOAD', detail: 'body: its length differs from its Content-Length header' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'FEDTSA_ERR_TOO_LARGE', detail: 'body: over the size limit' },
  FST_ERR_BAD_URL: { status: 400, code: 'FEDTSA_ERR_INVALID_PAYLOAD', detail: 'URL: not well-formed percent-encoding' },
  // A path segment over Fastify's maxParamLength (100 characters) matches no route.
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'FEDTSA_ERR_TOO_LARGE', detail: 'URL: a path segment is over 100 characters' },
};

/** Sends the coded refusal for any error; logs what the client is not told. */
function sendError(app: FastifyInstance, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err.validation) return refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', describeValidation(err, req));
  const known = err.code === undefined ? undefined : FRAMEWORK_REFUSALS[err.code];
  if (known) return refuse(reply, known.status, known.code, known.detail);
  const status = err.statusCode ?? 500;
  if (status === 429) return refuse(reply, 429, 'FEDTSA_ERR_RATE_LIMITED');
  if (status === 413) return refuse(reply, 413, 'FEDTSA_ERR_TOO_LARGE');
  if (status >= 400 && status < 500) {
    // The request is at fault, not the coordinator; what exactly went wrong is for the log.
    app.log.info({ err, url: req.url }, 'request refused');
    return refuse(reply, status, 'FEDTSA_ERR_INVALID_PAYLOAD', 'the request is malformed');
  }
  app.log.error({ err, url: req.url }, 'request failed');
  return refuse(reply, 500, 'FEDTSA_ERR_INTERNAL');
}

/** Fastify's `frameworkErrors` option: refusals made before routing (bad percent-encoding, an over-long path segment). */
export function frameworkErrors(this: void, err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const known = err.code === undefined ? undefined : FRAMEWORK_REFUSALS[err.code];
  if (known) return void refuse(reply, known.status, known.code, known.detail);
  req.log.error({ err }, 'request failed before routing');
  void refuse(reply, 500, 'FEDTSA_ERR_INTERNAL');
}

/**
 * The error handler and the not-found handler, both coded. Call it on the root instance after
 * @fastify/rate-limit is registered (unknown routes count against the limit too) and before the
 * plugins that inherit them.
 */
export function installStrictErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(app, err, req, reply));
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (_req, reply) => refuse(reply, 404, 'FEDTSA_ERR_NOT_FOUND'));
}

/**
 * Every query parameter of the API, by route, with the values each takes (one of them, given
 * once). Any other parameter of an /api route is refused rather than ignored, so that a
 * misspelling ("?al=true") does not quietly mean the default. A route that takes a new
 * parameter is listed here.
 */
const QUERY_PARAMETERS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  '/api/runs/:id/clients': CLIENTS_QUERY,
  // Collect garbage before measuring (app.ts); bench/fan-out.ts sends it.
  '/api/process': { gc: ['1'] },
};

/** A query parameter as a refusal names it: its name cut short, slashes kept. */
function queryField(key: string): string {
  return key === '' ? 'query: a parameter without a name' : fieldPath('query', `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`);
}

/** Why `query` does not suit `route`, or undefined when it does. */
function queryRefusal(route: string, query: unknown): string | undefined {
  const taken = QUERY_PARAMETERS[route] ?? {};
  for (const [key, value] of Object.entries(typeof query === 'object' && query !== null ? query : {})) {
    const values = Object.hasOwn(taken, key) ? taken[key] : undefined;
    if (values === undefined) return `${queryField(key)}: unknown parameter`;
    if (Array.isArray(value)) return `${queryField(key)}: given more than once`;
    if (typeof value !== 'string' || !values.includes(value)) {
      return `${queryField(key)}: expected ${expectation(values.length === 1 ? { const: values[0] } : { anyOf: values.map((v) => ({ const: v })) })}`;
    }
  }
  return undefined;
}

/**
 * A preValidation hook for the root instance: refuses a query that an /api route does not take
 * (400 FEDTSA_ERR_INVALID_PAYLOAD naming the parameter). It runs after the admin check, so a
 * request without the token learns nothing about the query. Other routes (the built pages) are
 * left alone: a cache-busting `?v=` on a file is harmless.
 */
export async function refuseUnknownQuery(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const route = req.routeOptions.url;
  if (route === undefined || !route.startsWith('/api/')) return;
  const refusal = queryRefusal(route, req.query);
  return refusal === undefined ? undefined : refuse(reply, 400, 'FEDTSA_ERR_INVALID_PAYLOAD', refusal);
}
