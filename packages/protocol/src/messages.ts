/**
 * Payload schemas of every inbound message, as TypeBox schemas: one definition gives the
 * runtime guard and the static type. Binary fields are checked by hand (isBinary).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { EncodedWeights } from './codec.ts';

/** 2: tasks carry a `taskId` that the update must name. */
/** 3: Welcome carries the run's task and whether the server evaluates; updates may carry the client's evaluation. */
/**
 * 4: Welcome carries the run's participation policy; a client reports whether it can take part
 * ('participation': a selected one that cannot is withdrawn from the round); updates name the
 * backend that computed them and, after a mid-round fallback, the backend that failed.
 */
export const PROTOCOL_VERSION = 4;

const Backend = Type.Union([Type.Literal('webgpu'), Type.Literal('webgl'), Type.Literal('wasm'), Type.Literal('cpu'), Type.Literal('node')]);

/** socket.io handshake `auth` of a training client. */
export const ClientAuth = Type.Object({
  protocolVersion: Type.Integer(),
  runId: Type.String({ minLength: 1, maxLength: 64 }),
  joinToken: Type.String({ minLength: 1, maxLength: 128 }),
  /** A reconnecting client resumes its identity with the id and secret it was given. */
  clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
}, { additionalProperties: false });
export type ClientAuth = Static<typeof ClientAuth>;

export const CapabilityReport = Type.Object({
  /** Training throughput of the width-1 reference model on the fastest backend, samples/s. */
  samplesPerSec: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
  backend: Backend,
  memoryGb: Type.Optional(Type.Number({ minimum: 0, maximum: 1e4 })),
  cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
  /** Samples of its own the client will train on; absent = the coordinator's demo shard. */
  ownDataSamples: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e8 })),
  label: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type CapabilityReport = Static<typeof CapabilityReport>;

const ManifestEntry = Type.Object({
  name: Type.String({ maxLength: 128 }),
  shape: Type.Array(Type.Integer({ minimum: 1, maximum: 1e8 }), { maxItems: 8 }),
}, { additionalProperties: false });

/** The JSON part of an update; `weights.data` is a binary attachment checked separately. */
export const UpdateMeta = Type.Object({
  runId: Type.String({ maxLength: 64 }),
  round: Type.Integer({ minimum: 0 }),
  clusterIndex: Type.Integer({ minimum: 0, maximum: 64 }),
  /** The `taskId` of the task this update was trained from (binds the update to the model sent). */
  taskId: Type.String({ minLength: 1, maxLength: 64 }),
  numSamples: Type.Integer({ minimum: 1, maximum: 1e8 }),
  trainLoss: Type.Number(),
  /** The backend that computed this update (protocol 4). */
  backend: Type.Optional(Backend),
  /** Set when the backend the round started on failed and the round was redone on `backend` (protocol 4). */
  fallback: Type.Optional(Type.Object({
    from: Backend,
    /** What went wrong, in the client's words (an exception's message, "non-finite loss"). */
    reason: Type.String({ minLength: 1, maxLength: 300 }),
  }, { additionalProperties: false })),
  /**
   * The client's score of the model it RECEIVED (before training) on a held-out part of its own
   * data: federated evaluation, asked for when Welcome.serverEvaluates is false.
   */
  evaluation: Type.Optional(Type.Object({
    accuracy: Type.Number({ minimum: 0, maximum: 1 }),
    loss: Type.Number({ minimum: 0, maximum: 1e6 }),
    count: Type.Integer({ minimum: 1, maximum: 1e8 }),
  }, { additionalProperties: false })),
  weights: Type.Object({
    manifest: Type.Array(ManifestEntry, { maxItems: 1024 }),
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('float16')]),
    data: Type.Unknown(),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
export type UpdateMeta = Static<typeof UpdateMeta>;
export type UpdatePayload = Omit<UpdateMeta, 'weights'> & { weights: EncodedWeights };

export const Heartbeat = Type.Object({
  status: Type.Union([Type.Literal('idle'), Type.Literal('training'), Type.Literal('paused')]),
  round: Type.Optional(Type.Integer({ minimum: 0 })),
  progress: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
}, { additionalProperties: false });
export type Heartbeat = Static<typeof Heartbeat>;

/** Why a client cannot take part now: the policy it follows (the run's and its user's) is not met. */
export const ParticipationReason = Type.Union([Type.Literal('not-charging'), Type.Literal('page-hidden')]);
export type ParticipationReason = Static<typeof ParticipationReason>;

/**
 * Whether the client can take part in rounds now (protocol 4). A client sends it whenever this
 * changes, and again when it gets a task it will not train. Unavailable: a participant of the
 * open round is withdrawn from it (the round does not wait for it), and it is not selected until
 * it reports available again. Unavailable always names at least one reason.
 */
export const Participation = Type.Union([
  Type.Object({ available: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object({
    available: Type.Literal(false),
    reasons: Type.Array(ParticipationReason, { minItems: 1, maxItems: 2, uniqueItems: true }),
  }, { additionalProperties: false }),
]);
export type Participation = Static<typeof Participation>;

function compile<T extends TSchema>(schema: T): (value: unknown) => value is Static<T> {
  const checker = TypeCompiler.Compile(schema);
  return (value: unknown): value is Static<T> => checker.Check(value);
}

export function isBinary(value: unknown): value is ArrayBuffer | Uint8Array {
  return value instanceof ArrayBuffer || value instanceof Uint8Array;
}

export const isClientAuth = compile(ClientAuth);
export const isCapabilityReport = compile(CapabilityReport);
export const isHeartbeat = compile(Heartbeat);
export const isParticipation = compile(Participation);
const isUpdateMeta = compile(UpdateMeta);
export function isUpdatePayload(value: unknown): value is UpdatePayload {
  return isUpdateMeta(value) && isBinary((value as UpdateMeta).weights.data);
}
