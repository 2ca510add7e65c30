/**
 * Server time per round (issue 17): a coordinator process at default run settings with Stage 2
 * on (the committed Fashion-MNIST generator), and virtual clients in their own processes that
 * take as long as devices of their reported speed would (--emulate-speed: they train, then wait
 * out the rest of the device's time). Per round from round 2 on (the last round excluded: with
 * overlap it runs its mutual learning inline, as nobody waits for a next round):
 *   clients  = clientsDoneAt - startedAt   (the round's client phase, deadline or last update)
 *   critical = next round's startedAt - clientsDoneAt   (close, Stage 1, Stage 2 on the path, scores, save)
 * and the ratio sum(critical) / sum(clients), with overlap off and on, for 2 and 3 clusters.
 * Steady state: the coordinator keeps its data folder in .cache/bench-server-time, so the pools
 * (keyed by generator, settings and seed) are made once; each run's clients start once its pool
 * fill is made, and a round whose Stage 2 was skipped (too little pool) is not counted.
 *   node --import tsx bench/server-time.ts [--rounds 6] [--scenarios 2,3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startCoordinator, type CoordinatorProcess } from '../e2e/coordinator-process.ts';
import { fmt, table } from './lib.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, scenarios: { type: 'string', default: '2,3' }, generator: { type: 'string', default: 'checkpoints/fmnist-ddpm' } } });
const ROUNDS = Number(values.rounds);
const DATA_DIR = '.cache/bench-server-time';
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 3)) throw new Error(`--rounds must be an integer >= 3 (round 2 on, the last excluded), got ${values.rounds}`);

/** Device tiers (samples/s at width 1), two devices each, as the simulation's presets draw them: phones, laptops, desktops. */
const TIERS: Record<string, { label: string; speed: number }[]> = {
  2: [{ label: 'laptop', speed: 150 }, { label: 'phone', speed: 30 }],
  3: [{ label: 'desktop', speed: 1500 }, { label: 'laptop', speed: 150 }, { label: 'phone', speed: 30 }],
};

interface Round {
  round: number; startedAt: number; clientsDoneAt?: number; closedAt: number; stage1Ms: number; stage2Ms: number;
  stage2Stats: Record<string, number>; clustering: { clusters: { widthRatio: number }[] };
}

/** Waits until the run's pool fill is made (the generation worker makes it in the background); returns the seconds waited. */
async function poolFilled(coordinator: CoordinatorProcess, runId: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const run = await coordinator.api<{ pool?: { state: string; fillReady: number; fillTarget: number; error?: string } | null }>('GET', `/api/runs/${runId}`);
    const pool = run.pool;
    if (!pool) throw new Error(`run ${runId} reports no pool (a coordinator without background generation, or Stage 2 off?)`);
    if (pool.state === 'failed') throw new Error(`run ${runId}: pool generation failed: ${pool.error ?? 'no reason given'}`);
    if (pool.fillReady >= pool.fillTarget) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > 20 * 60_000) throw new Error(`run ${runId}: pool fill ${pool.fillReady}/${pool.fillTarget} after 20 minutes`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function runScenario(coordinator: CoordinatorProcess, clusters: number, overlap: boolean): Promise<{ rows: (string | number)[][]; ratio: number; widths: string; poolWaitS: number }> {
  const tiers = TIERS[String(clusters)];
  if (!tiers) throw new Error(`no tiers for ${clusters} clusters (choose from ${Object.keys(TIERS).join(', ')})`);
  const devices = tiers.length * 2;
  const run = await coordinator.createRun({ rounds: ROUNDS, minClientsToStart: devices, roundDeadlineMs: 300_000, stage2: { enabled: true, overlap } });
  const poolWaitS = await poolFilled(coordinator, run.id);
  const children: ChildProcess[] = tiers.map((t) => spawn(process.execPath, ['--import', 'tsx', 'apps/coordinator/src/virtual-client/cli.ts', '--url', coordinator.url,
    '--run', run.id, `--token=${run.joinToken}`, '--count', '2', '--speed', String(t.speed), '--emulate-speed', '--label', t.label], { stdio: ['ignore', 'ignore', 'ignore'] }));
  try {
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const state = (await coordinator.api<{ state: string; completedRound: number }>('GET', `/api/runs/${run.id}`));
      if (state.state === 'completed') break;
      if (Date.now() > deadline) throw new Error(`run ${run.id} did not complete within 30 minutes (round ${state.completedRound})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
  const rounds = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`);
  const rows: (string | number)[][] = [];
  let clientsSum = 0;
  let criticalSum = 0;
  for (const r of rounds) {
    const next = rounds.find((x) => x.round === r.round + 1);
    if (r.clientsDoneAt === undefined) throw new Error(`round ${r.round} has no clientsDoneAt (an older coordinator?)`);
    const clientsS = (r.clientsDoneAt - r.startedAt) / 1000;
    const criticalS = ((next ? next.startedAt : r.closedAt) - r.clientsDoneAt) / 1000;
    const counted = r.round >= 2 && next !== undefined && !r.stage2Stats.stage2Skipped;
    if (counted) {
      clientsSum += clientsS;
      criticalSum += criticalS;
    }
    const s = r.stage2Stats;
    rows.push([
      `${r.round}${counted ? '' : ' (not counted)'}`, fmt(clientsS, 1), fmt(criticalS, 1), fmt(r.stage1Ms, 0), fmt(r.stage2Ms, 0),
      fmt(s.generationMs ?? 0, 0), fmt(s.mutualLearningMs ?? 0, 0), s.carriedFromRound !== undefined ? `round ${s.carriedFromRound}` : '-', String(s.poolSize ?? '-'),
    ]);
  }
  const widths = rounds[rounds.length - 1]?.clustering.clusters.map((c) => c.widthRatio).join(', ') ?? '';
  return { rows, ratio: criticalSum / clientsSum, widths, poolWaitS };
}

mkdirSync(DATA_DIR, { recursive: true });
const coordinator = await startCoordinator({ env: { FEDTSA_GENERATOR_DIR: values.generator }, args: ['--data-dir', DATA_DIR] });
const summary: (string | number)[][] = [];
try {
  for (const clusters of values.scenarios.split(',').map(Number)) {
    for (const overlap of [false, true]) {
      const t0 = Date.now();
      const { rows, ratio, widths, poolWaitS } = await runScenario(coordinator, clusters, overlap);
      console.log(`\n### ${clusters} clusters (widths ${widths}), overlap ${overlap ? 'on' : 'off'} (${((Date.now() - t0) / 1000).toFixed(0)} s, of which ${poolWaitS.toFixed(0)} s waiting for the pool fill)\n`);
      console.log(table(['round', 'clients (s)', 'server on the critical path (s)', 'Stage 1 (ms)', 'Stage 2 in the close (ms)', 'generation (ms)', 'mutual learning (ms)', 'carried from', 'pool'], rows));
      summary.push([clusters, overlap ? 'on' : 'off', fmt(ratio), overlap ? '0.5' : '1.0', ratio <= (overlap ? 0.5 : 1) ? 'met' : 'not met']);
    }
  }
} finally {
  await coordinator.stop();
}
console.log(`\nServer time per round: time on the round's critical path / the clients' training time, rounds 2 to ${ROUNDS - 1} summed, ${ROUNDS} rounds at default settings, virtual clients emulating their device speed (two per tier).\n`);
console.log(table(['clusters', 'overlap', 'ratio', 'target', ''], summary));
