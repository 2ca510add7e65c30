/**
 * A run's settings: one TypeBox schema gives the REST validation, the defaults and the type.
 * A leaf: it imports only TypeBox and core's defaults, so the store's types can name it without
 * pulling in the app (filling in and checking a partial settings object: settings.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_SCREEN_SETTINGS } from '@fedtsa/core/screening/update-screen';
import { DEFAULT_TEACHER_RULE } from '@fedtsa/core/stage2/teachers';

export const Stage2Settings = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'run Stage 2 (needs a generator checkpoint); off = FedTSA Stage 1 only' }),
  poolSize: Type.Integer({ minimum: 10, maximum: 100_000, default: 300, description: 'synthetic samples kept between rounds' }),
  refreshFraction: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'share of the pool regenerated each round' }),
  steps: Type.Integer({ minimum: 0, maximum: 10_000, default: 50, description: 'mutual-learning batches per round' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
  temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 3 }),
  lambda: Type.Number({ minimum: 0, maximum: 100, default: 0.5, description: 'weight of cross-entropy on generated labels' }),
  optimizer: Type.Union([Type.Literal('sgd'), Type.Literal('adam')], { default: 'sgd', description: 'sgd has momentum 0.9' }),
  learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 3e-3, description: 'tuned on the validation split (results/stage2-tuning)' }),
  sampleSteps: Type.Integer({ minimum: 1, maximum: 1000, default: 25, description: 'DDIM steps' }),
  guidance: Type.Number({ minimum: 0, maximum: 20, default: 3, description: 'classifier-free guidance scale' }),
  overlap: Type.Boolean({ default: false, description: "round r's mutual learning runs while round r+1's clients train from round r's Stage 1 models; its change is added at round r+1's close (docs/FEDTSA.md)" }),
  teacherRule: Type.Boolean({ default: true, description: 'a cluster model teaches only if it passes the teacher screen (docs/robustness.md); off = every model teaches' }),
  teacherMaxAbsLogit: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: DEFAULT_TEACHER_RULE.maxAbsLogit, description: 'largest |logit| a teacher may produce on the synthetic pool' }),
  teacherMinSkill: Type.Number({ minimum: 0, maximum: 0.99, default: DEFAULT_TEACHER_RULE.minSkill, description: 'a teacher knows something: (accuracy - chance) / (1 - chance) on the pool at least this...' }),
  teacherMaxLossRatio: Type.Number({ minimum: 0, maximum: 100, default: DEFAULT_TEACHER_RULE.maxLossRatio, description: '...or its pool cross-entropy at most this multiple of a uniform guess (0 = never: sign-flipping fakes pass it)' }),
}, { additionalProperties: false });

export const RunSettings = Type.Object({
  task: Type.String({ minLength: 1, maxLength: 40, default: 'fashion-mnist', description: 'the task to train: a built-in one or one registered from a folder (GET /api/tasks)' }),
  rounds: Type.Integer({ minimum: 1, maximum: 100_000, default: 5 }),
  roundDeadlineMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 60_000, description: 'a round closes with whoever has returned by then' }),
  participantsPerCluster: Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'clients selected per cluster and round; 0 = all' }),
  minClientsPerCluster: Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'smaller clusters merge into a neighbour' }),
  minClientsToStart: Type.Integer({ minimum: 1, maximum: 100_000, default: 2 }),
  localEpochs: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
  batchSize: Type.Integer({ minimum: 1, maximum: 4096, default: 32 }),
  learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.05 }),
  optimizer: Type.Union([Type.Literal('sgd'), Type.Literal('adam')], { default: 'sgd' }),
  roundBudgetSec: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 3, description: 'local-training budget that sets each cluster width' }),
  /** KDE bandwidth factor and valley prominence (see fedtsa-core kde.ts). */
  kdeBandwidthFactor: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.5 }),
  kdeMinProminence: Type.Number({ minimum: 0, maximum: 0.99, default: 0.5 }),
  /** A client stays in its cluster unless it moves this far (ln units) past a boundary. */
  hysteresisLog: Type.Number({ minimum: 0, maximum: 5, default: 0.2 }),
  /** Refuse an update whose distance from the model it was given exceeds this multiple of the cluster's median. */
  normMultiple: Type.Number({ exclusiveMinimum: 1, maximum: 1e6, default: 10 }),
  minCosine: Type.Number({ minimum: -1, maximum: 1, default: DEFAULT_SCREEN_SETTINGS.minCosine, description: "drop an update whose change has a cosine below this with the median change of the other updates of its cluster (5+ updates; -1 = off; docs/robustness.md)" }),
  minConsensus: Type.Number({ minimum: -1, maximum: 1, default: DEFAULT_SCREEN_SETTINGS.minConsensus, description: "the direction check runs only on a cluster whose updates agree: the median of their cosines with the others' median change at least this (default 0: the typical update agrees with the others at all; -1 = always; docs/robustness.md)" }),
  claimMultiple: Type.Number({ minimum: 1, maximum: 1e6, default: 3, description: "a sample-count claim weighs at most this multiple of its cluster's median claim" }),
  maxClientShare: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5, description: "no client holds more than this share of its cluster's average (at least 1/n)" }),
  maxSamplesPerClient: Type.Integer({ minimum: 1, maximum: 1e8, default: 100_000, description: 'largest own-data sample count a client may declare' }),
  changeMultiple: Type.Number({ exclusiveMinimum: 1, maximum: 1e6, default: 10, description: "a cluster model may move at most this multiple of its typical round-to-round change, else the step is rolled back" }),
  firstChangeOfNorm: Type.Number({ exclusiveMinimum: 0, maximum: 1e6, default: 1, description: "with no typical change yet: at most this multiple of the starting model's norm" }),
  changeFloorOfNorm: Type.Number({ minimum: 0, maximum: 1e6, default: 1, description: "the change limit is never below this multiple of the starting model's norm (0 = no floor)" }),
  expectedSamplesPerClient: Type.Integer({ minimum: 1, maximum: 1e8, default: 300, description: 'local data size assumed when choosing widths' }),
  evalSamples: Type.Integer({ minimum: 100, maximum: 10_000, default: 2000, description: 'test images scored per cluster and round' }),
  seed: Type.Integer({ minimum: 0, maximum: 2 ** 31, default: 1 }),
  /** Encoding of the models sent to clients; float16 halves the bytes (clients choose their own for uploads). */
  downlinkDtype: Type.Union([Type.Literal('float32'), Type.Literal('float16')], { default: 'float32' }),
  /** Who may create an identity: anyone with the run's shared join token, or only a holder of an unused one-use device token. */
  joinMode: Type.Union([Type.Literal('shared'), Type.Literal('device-tokens')], { default: 'shared', description: "'device-tokens': only unused one-use device tokens join (the shared join token is refused)" }),
  /** The participation policy (Welcome.participation): a page that cannot meet it withdraws from rounds until it can. Its user may add to it. */
  requireCharging: Type.Boolean({ default: false, description: 'pages train only while the device is charging (where the browser tells; Battery Status API)' }),
  requireVisible: Type.Boolean({ default: false, description: 'pages train only while visible (a hidden tab or a switched-off screen withdraws)' }),
  stage2: Stage2Settings,
}, { additionalProperties: false });
export type RunSettings = Static<typeof RunSettings>;
