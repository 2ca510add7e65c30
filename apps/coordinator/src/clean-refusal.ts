/**
 * What a client may read in a refusal, for the tests of every refusal path (REST bodies, socket
 * acks, refused events, round-closed): no stack frames or file names, no internal function
 * names, no framework wording, and exactly one prefix, its own code's text.
 */
import { ERROR_CODES, isErrorCode } from '@fedtsa/protocol/errors';

const STACK_OR_FILES = [/\bat \S+ \(/, /\bat \S+:\d+/, /\.ts:/, /\.js:/, /\.mjs/, /node_modules/, /\/src\//];
const INTERNAL_NAMES = ['decodeWeights', 'resolveSettings', 'structuredClone', 'registerRunRoutes', 'engineOr404', 'protocolError', 'secureJsonParse',
  'TypeError', 'RangeError', 'SyntaxError', 'Value.Check', 'checkUpdate', 'screenClusterUpdates', 'cappedWeights'];
const FRAMEWORK_WORDING = [/FST_/, /must be/i, /must NOT/i, /must have/i, /Unexpected token/, /Unexpected property/, /Maximum call stack/, /ajv/i,
  /Expected (integer|number|string|boolean|object|union|array)/, /valid url component/, /max param length/, /content-type is set to/, /Unsupported Media Type/, /Route \w+:/];

/** The problems found in a `{ code, message }` refusal (empty when it is clean). */
export function internalTextIn(refusal: unknown): string[] {
  const text = JSON.stringify(refusal);
  const problems = [...STACK_OR_FILES, ...FRAMEWORK_WORDING].filter((re) => re.test(text)).map((re) => `matches ${re}`);
  problems.push(...INTERNAL_NAMES.filter((name) => text.includes(name)).map((name) => `names ${name}`));
  const { code, message } = (refusal ?? {}) as { code?: unknown; message?: unknown };
  if (!isErrorCode(code) || typeof message !== 'string') return [...problems, 'not a { code, message } with a catalogue code'];
  if (!message.startsWith(ERROR_CODES[code])) problems.push("does not start with its code's text");
  if (message.split(ERROR_CODES[code]).length - 1 !== 1) problems.push('its prefix appears more than once');
  for (const [other, words] of Object.entries(ERROR_CODES)) if (other !== code && message.includes(words)) problems.push(`carries ${other}'s text too`);
  return problems;
}
