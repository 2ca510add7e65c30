/**
 * The simulation and the coordinator run the same round (core round/): one injected partition,
 * six clients in two speed tiers, Stage 2 on with a small untrained generator, float32 both
 * ways, no missed deadline, two rounds. The cluster models after each round must be equal bit
 * for bit between the simulation's path (worker pool, runStrategy) and the coordinator's
 * (virtual clients over real sockets, run engine, aggregation worker). Also with overlap on:
 * round 1's mutual learning runs in the coordinator's worker while round 2 trains, in the
 * simulation in turn, and its change reaches round 2's models the same in both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { subset, type LabelledImages } from '@fedtsa/core/data/dataset';
import { initialWeights } from '@fedtsa/core/model';
import { createRng, deriveSeed, shuffleInPlace } from '@fedtsa/core/rng';
import { planClusters } from '@fedtsa/core/round/plan';
import { roundPolicyOf } from '@fedtsa/core/round/policy';
import type { ClusterModel } from '@fedtsa/core/strategy/types';
import type { SimulationConfig } from '@fedtsa/simulator/config';
import { DEFAULT_STAGE2, PRESETS } from '@fedtsa/simulator/config';
import type { Experiment } from '@fedtsa/simulator/experiment';
import { WorkerPool } from '@fedtsa/simulator/pool';
import { runStrategy } from '@fedtsa/simulator/run';
import { createSimulationStage2 } from '@fedtsa/simulator/stage2-setup';
import type { Coordinator } from './app.ts';
import { mutualLearningOf, planOptionsOf, resolveSettings } from './runs/settings.ts';
import { startCoordinator, testData, tinyGenerator, until } from './test-helpers.ts';
import { VirtualClient } from './virtual-client/virtual-client.ts';

const SPEEDS = [1500, 1600, 1400, 40, 44, 36];
const SHARD = 60;

let coordinator: Coordinator | undefined;
let pool: WorkerPool | undefined;
let clients: VirtualClient[] = [];

async function shutDown(): Promise<void> {
  for (const c of clients) c.close();
  clients = [];
  await coordinator?.close();
  await pool?.close();
  coordinator = undefined;
  pool = undefined;
}
afterAll(shutDown);

const bytes = (w: Float32Array) => Buffer.from(w.buffer, w.byteOffset, w.byteLength);

describe('one round in the core', () => {
  it.each([false, true])('gives bit-identical cluster models after each round in the simulation and in the coordinator (overlap %s)', async (overlap) => {
    await shutDown();
    const generatorDir = await tinyGenerator();
    const { train, test } = testData();
    const spec: ModelSpec = { inputShape: [train.height, train.width, train.channels], numClasses: train.numClasses };
    // The injected partition: six shards of 60 rows from a fixed shuffle of the training set.
    const rows = shuffleInPlace(createRng(7), Array.from({ length: train.count }, (_, i) => i)).slice(0, SHARD * SPEEDS.length);
    const clientData = subset(train, rows);
    const shards = SPEEDS.map((_, i) => Int32Array.from({ length: SHARD }, (_, k) => i * SHARD + k));

    const settings = resolveSettings({
      rounds: 2, roundDeadlineMs: 120_000, minClientsToStart: SPEEDS.length, minClientsPerCluster: 2, participantsPerCluster: 0,
      localEpochs: 1, batchSize: 16, learningRate: 0.1, expectedSamplesPerClient: SHARD, roundBudgetSec: 0.5, evalSamples: 200,
      downlinkDtype: 'float32', seed: 5,
      // The teacher rule off: the untrained generator's labels mean nothing, and every model must teach for Stage 2 to move them.
      stage2: { enabled: true, poolSize: 30, refreshFraction: 0.2, steps: 3, batchSize: 10, sampleSteps: 2, guidance: 1, teacherRule: false, overlap },
    });

    // The coordinator: virtual clients with their own data, over real sockets.
    let url: string;
    ({ coordinator, url } = await startCoordinator({ generatorDir }));
    const engine = coordinator.registry.create('parity', settings);
    engine.start();
    const served = new Map<number, ClusterModel[]>();
    SPEEDS.forEach((speed, i) => {
      const data: LabelledImages = subset(clientData, shards[i] as Int32Array);
      clients.push(new VirtualClient({ url, runId: engine.record.id, joinToken: engine.record.joinToken, samplesPerSec: speed, data, label: `c${i}` }));
    });
    await until(() => engine.record.completedRound >= 2 || engine.record.state === 'stopped', 90_000, 'two completed rounds');
    const records = coordinator.store.listRounds(engine.record.id);
    expect(records.map((r) => [r.round, r.participants, r.updatesAccepted])).toEqual([[1, 6, 6], [2, 6, 6]]);
    // With overlap, round 1's step is deferred (its record has no Stage 2 figures) and round 2, the last, carries it and runs its own inline.
    if (overlap) {
      expect(records[0]?.stage2Stats).toEqual({});
      expect(records[1]?.stage2Stats.carriedFromRound).toBe(1);
    }
    for (const r of records.slice(overlap ? 1 : 0)) {
      expect(r.stage2Stats.generated).toBeGreaterThan(0);
      // Mutual learning ran and moved the models: Stage 2 is part of what must agree.
      expect(r.stage2Stats.steps).toBe(3);
      expect(r.stage2Stats.teachersExcluded).toBe(0);
      expect(r.stage2Stats.klAfter).not.toBe(r.stage2Stats.klBefore);
      expect(r.incidents).toEqual([]);
    }
    for (const round of [1, 2]) served.set(round, coordinator.store.loadModels(engine.record.id, round) ?? []);

    // The simulation: the same clients (ids, speeds, shards) planned and run by its own path.
    const ids = clients.map((c) => c.welcome?.clientId as string);
    const profiles = ids.map((id, i) => ({ id, samplesPerSec: SPEEDS[i] as number, numSamples: SHARD }));
    const setup = planClusters(profiles, planOptionsOf(settings, profiles.length));
    expect(setup.clusters.map((c) => new Set(c.memberIds))).toEqual(records[0]?.clustering.clusters.map((c) => new Set(c.memberIds)));
    const exp: Experiment = {
      spec, clientData, shards, profiles, tierOf: SPEEDS.map((s) => (s > 100 ? 'fast' : 'slow')), setup,
      initialWeights: initialWeights(spec, deriveSeed(settings.seed, 5)), publicPool: test, validation: test, test,
    };
    const config: SimulationConfig = {
      ...(PRESETS.default as SimulationConfig), seed: settings.seed, numClients: SPEEDS.length, rounds: 2, participation: 1,
      localEpochs: settings.localEpochs, batchSize: settings.batchSize, learningRate: settings.learningRate, optimizer: settings.optimizer,
      evalSamplesPerRound: 200, workers: 2, policy: roundPolicyOf(settings),
      stage2: {
        ...DEFAULT_STAGE2, generatorDir, poolSize: settings.stage2.poolSize, refreshFraction: settings.stage2.refreshFraction,
        sampleSteps: settings.stage2.sampleSteps, guidance: settings.stage2.guidance, mutualLearning: mutualLearningOf(settings.stage2), cacheDir: undefined,
        overlap,
      },
    };
    pool = await WorkerPool.create(spec, clientData, test, 2);
    const stage2 = createSimulationStage2(config.stage2, spec, config.seed, pool);
    const simulated = new Map<number, ClusterModel[]>();
    await runStrategy('fedtsa', config, exp, pool, () => {}, stage2.step, (round, models) => simulated.set(round, models.map((m) => ({ ...m }))));

    for (const round of [1, 2]) {
      const a = simulated.get(round) ?? [];
      const b = served.get(round) ?? [];
      expect(b.map((m) => [m.clusterIndex, m.widthRatio])).toEqual(a.map((m) => [m.clusterIndex, m.widthRatio]));
      a.forEach((m, k) => {
        const other = b[k] as ClusterModel;
        expect(other.weights.length, `round ${round} cluster ${m.clusterIndex}`).toBe(m.weights.length);
        expect(bytes(other.weights).equals(bytes(m.weights)), `round ${round} cluster ${m.clusterIndex}: bit-identical`).toBe(true);
      });
    }
  }, 120_000);
});
