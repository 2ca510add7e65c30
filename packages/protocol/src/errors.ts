/**
 * Every refusal the coordinator sends carries one of these codes and a human message.
 * The list is closed: clients may switch on it. Documented here and nowhere else.
 */
export const ERROR_CODES = {
  FEDTSA_ERR_PROTOCOL_VERSION: 'the client speaks another protocol version',
  FEDTSA_ERR_BAD_TOKEN: 'the join token does not belong to this run',
  FEDTSA_ERR_UNAUTHORIZED: 'the admin token is missing or wrong',
  FEDTSA_ERR_RUN_NOT_FOUND: 'no such run',
  FEDTSA_ERR_RUN_STATE: 'the run is not in a state that allows this',
  FEDTSA_ERR_INVALID_PAYLOAD: 'the message does not match its schema',
  FEDTSA_ERR_SHAPE_MISMATCH: "the update's manifest or length differs from the cluster model",
  FEDTSA_ERR_NON_FINITE: 'the update contains NaN or infinite values',
  FEDTSA_ERR_NORM_TOO_LARGE: "the update's norm exceeds the allowed multiple of the cluster median",
  FEDTSA_ERR_STALE_ROUND: 'the update is for a round that is closed or not current',
  FEDTSA_ERR_WRONG_CLUSTER: 'the update names a cluster the client is not in this round',
  FEDTSA_ERR_NOT_SELECTED: 'the client was not selected for this round',
  FEDTSA_ERR_DUPLICATE_UPDATE: 'the client already sent an update for this round',
  FEDTSA_ERR_NOT_JOINED: 'the client has not reported its capability yet',
  FEDTSA_ERR_RATE_LIMITED: 'too many requests',
  FEDTSA_ERR_TOO_LARGE: 'the message is larger than allowed',
  FEDTSA_ERR_TASK_MISMATCH: 'the update does not name the task the client was given this round',
  FEDTSA_ERR_BAD_CLAIM: "the update's sample count exceeds what the client holds",
  FEDTSA_ERR_DIRECTION: "the update points away from the other updates of its cluster",
  FEDTSA_ERR_WITHDRAWN: 'the client withdrew from this round (it reported it cannot take part)',
  FEDTSA_ERR_IDENTITY_LIMIT: 'too many new identities from this address; try again later',
  FEDTSA_ERR_NOT_FOUND: 'no such resource or route',
  FEDTSA_ERR_BAD_DATASET: 'the folder cannot be registered as a task',
  FEDTSA_ERR_INTERNAL: 'the coordinator failed; the request may be retried',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

export function protocolError(code: ErrorCode, detail?: string): ProtocolError {
  return { code, message: detail ? `${ERROR_CODES[code]}: ${detail}` : ERROR_CODES[code] };
}

/** Acknowledgement of a request: a result, or a coded refusal. */
export type Ack<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };
