/** Run settings of the poisoning drills: Stage 2 on with a small pool, so a run takes a minute or two on a CPU. */
export const POISONING_SETTINGS = {
  roundDeadlineMs: 180_000, localEpochs: 2, batchSize: 32, learningRate: 0.05, expectedSamplesPerClient: 300, roundBudgetSec: 3,
  evalSamples: 1000, minClientsPerCluster: 2, seed: 3,
  stage2: { enabled: true, poolSize: 40, refreshFraction: 0.1, sampleSteps: 8, steps: 10, batchSize: 20 },
};
