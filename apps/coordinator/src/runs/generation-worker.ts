/**
 * The generation worker: makes every run's synthetic pool ahead of its rounds, chunk by chunk,
 * into the pool store, on a thread of its own so that it uses the core the round leaves idle
 * (the aggregation worker only reads the chunks). What a run needs is a pure plan (core
 * stage2/pool-plan.ts): the fill, then each later round's refresh. Chunks already in the store
 * (a restart, another run with the same generator and seed) are counted, not drawn again.
 *
 * Order: the chunk of the earliest round first across runs, so a new run's fill is not queued
 * behind another run's far refreshes; between chunks the worker returns to its message loop, so a
 * new run, a forget or a pause (a close is running: the cores are its) takes effect at the next
 * chunk.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { useBackend } from '@fedtsa/core/backend';
import { decodeCheckpoint } from '@fedtsa/core/diffusion/checkpoint';
import { DiffusionGenerator } from '@fedtsa/core/diffusion/generator';
import { poolChunks, refreshCountOf, type PoolPlan } from '@fedtsa/core/stage2/pool-plan';
import type { GeneratorKey } from '@fedtsa/core/stage2/pool-store';
import { readCheckpointFiles } from '@fedtsa/node-io/checkpoint-files';
import { checkpointIdentity, DiskPoolStore } from '@fedtsa/node-io/pool-store-disk';
import type { PoolProgress } from '@fedtsa/protocol/dashboard';
import type { GenerationEvent, GenerationInit, GenerationRequest, PoolJob } from './generation-messages.ts';

const init = workerData as GenerationInit;
await useBackend('wasm');
const store = new DiskPoolStore(init.poolDir);

interface PlannedChunk {
  round: number;
  labels: Uint8Array;
  seed: number;
}

interface Job {
  runId: string;
  generator: DiffusionGenerator;
  key: GeneratorKey;
  valuesPerImage: number;
  plan: PoolPlan;
  /** Chunks of rounds 1..planned, in plan order. */
  chunks: PlannedChunk[];
  planned: number;
  /** Rounds up to this one are made ahead. */
  horizon: number;
  /** The run's last round. */
  rounds: number;
  /** Chunks before this index are made (in the store). */
  next: number;
  drawMs: number;
  progress: PoolProgress;
}

const jobs = new Map<string, Job>();
/** Generators by (checkpoint folder, steps, guidance): runs of one task share one. */
const generators = new Map<string, { generator: DiffusionGenerator; key: GeneratorKey }>();

function post(event: GenerationEvent): void {
  parentPort?.postMessage(event);
}

function generatorFor(job: PoolJob): { generator: DiffusionGenerator; key: GeneratorKey } {
  const id = `${job.generatorDir}|${job.sampleSteps}|${job.guidance}`;
  let g = generators.get(id);
  if (!g) {
    const files = readCheckpointFiles(job.generatorDir);
    if (!files) throw new Error(`generation worker: no generator checkpoint in ${job.generatorDir}`);
    const generator = DiffusionGenerator.fromCheckpoint(decodeCheckpoint(files.modelJson, files.weights), { steps: job.sampleSteps, guidance: job.guidance });
    g = { generator, key: { checkpoint: checkpointIdentity(files), steps: job.sampleSteps, guidance: job.guidance } };
    generators.set(id, g);
  }
  return g;
}

function addJob(request: PoolJob): void {
  const { generator, key } = generatorFor(request);
  const plan: PoolPlan = { size: request.size, refreshFraction: request.refreshFraction, numClasses: generator.numClasses, firstRound: 1, seed: request.seed };
  const [h, w, c] = generator.imageShape;
  const job: Job = {
    runId: request.runId, generator, key, valuesPerImage: h * w * c, plan, chunks: [], planned: 0, horizon: request.horizon, rounds: request.rounds, next: 0, drawMs: 0,
    progress: {
      state: 'generating', fillReady: 0, fillTarget: request.size, imagesReady: 0,
      imagesTarget: request.rounds < 1 ? 0 : request.size + (request.rounds - 1) * refreshCountOf(request.size, request.refreshFraction),
      readyThroughRound: 0, imagesGenerated: 0, imagesReused: 0, imagesPerSec: null,
    },
  };
  jobs.set(request.runId, job);
  extend(job);
}

/** Plans the chunks of the rounds up to the job's horizon; says where the job stands when none is left to make. */
function extend(job: Job): void {
  for (; job.planned < Math.min(job.horizon, job.rounds); job.planned++) {
    const round = job.planned + 1;
    for (const c of poolChunks(job.plan, round)) job.chunks.push({ round, labels: c.labels, seed: c.seed });
  }
  const p = job.progress;
  p.readyThroughRound = readyThrough(job);
  if (p.state !== 'failed') p.state = job.next < job.chunks.length ? 'generating' : job.planned >= job.rounds ? 'ready' : 'ahead';
}

/** The job whose next chunk belongs to the earliest round (the first added among equals). */
function nextJob(): Job | undefined {
  let best: Job | undefined;
  for (const job of jobs.values()) {
    const chunk = job.chunks[job.next];
    if (chunk && (!best || chunk.round < (best.chunks[best.next] as PlannedChunk).round)) best = job;
  }
  return best;
}

/** The last round all of whose chunks are made: chunks are made in plan order (a round with none is made once those before it are). */
function readyThrough(job: Job): number {
  const pending = job.chunks[job.next];
  return pending ? pending.round - 1 : job.planned;
}

async function makeChunk(job: Job): Promise<void> {
  const chunk = job.chunks[job.next] as PlannedChunk;
  const p = job.progress;
  const n = chunk.labels.length;
  if (await store.has(job.key, chunk.labels, chunk.seed, n * job.valuesPerImage)) {
    p.imagesReused += n;
  } else {
    const t0 = performance.now();
    const images = (await job.generator.sample(chunk.labels, chunk.seed)).images;
    await store.write(job.key, chunk.labels, chunk.seed, images);
    job.drawMs += performance.now() - t0;
    p.imagesGenerated += n;
    p.imagesPerSec = p.imagesGenerated / (job.drawMs / 1000);
  }
  job.next++;
  p.imagesReady += n;
  if (chunk.round === 1) p.fillReady += n;
  extend(job);
}

let working = false;
let paused = false;
async function work(): Promise<void> {
  if (working || paused) return;
  working = true;
  try {
    for (let job = nextJob(); job && !paused; job = nextJob()) {
      try {
        await makeChunk(job);
      } catch (err) {
        // The run keeps what is made; its rounds use it, or run Stage 1 only. The dashboard shows why.
        job.progress.state = 'failed';
        job.progress.error = (err as Error).message;
        job.next = job.chunks.length;
      }
      if (jobs.get(job.runId) === job) post({ kind: 'progress', runId: job.runId, progress: { ...job.progress } });
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    working = false;
  }
}

parentPort?.on('message', (request: GenerationRequest) => {
  if (request.kind === 'forget') {
    jobs.delete(request.runId);
    return;
  }
  if (request.kind === 'pause' || request.kind === 'resume') {
    paused = request.kind === 'pause';
    void work();
    return;
  }
  if (request.kind === 'horizon') {
    const job = jobs.get(request.runId);
    if (job && request.round > job.horizon) {
      job.horizon = request.round;
      extend(job);
      post({ kind: 'progress', runId: job.runId, progress: { ...job.progress } });
    }
    void work();
    return;
  }
  try {
    addJob(request);
    const job = jobs.get(request.runId) as Job;
    post({ kind: 'progress', runId: request.runId, progress: { ...job.progress } });
  } catch (err) {
    post({
      kind: 'progress', runId: request.runId,
      progress: {
        state: 'failed', error: (err as Error).message, fillReady: 0, fillTarget: request.size, imagesReady: 0, imagesTarget: 0,
        readyThroughRound: 0, imagesGenerated: 0, imagesReused: 0, imagesPerSec: null,
      },
    });
  }
  void work();
});
post({ kind: 'ready' });
