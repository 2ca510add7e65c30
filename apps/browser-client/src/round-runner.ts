/**
 * One task on this page, from the coordinator's 'task' to the update's ack: the participation
 * check (a page that may not train now sits the round out, and the coordinator withdraws it),
 * the wake lock, training in the trainer with its backend fallbacks (trainer.ts, ranking from
 * backend-fallback.ts), the upload, and what the page shows and records. A round in progress is
 * stopped by `abort` when the participation policy stops being met. main.ts wires it.
 */
import type { Ack } from '@fedtsa/protocol/errors';
import type { ClientToServerEvents, ServerToClientEvents, TrainingTask, Welcome } from '@fedtsa/protocol/events';
import type { Participation } from '@fedtsa/protocol/messages';
import type { Socket } from 'socket.io-client';
import { afterFallback, fallbackOrder } from './backend-fallback.ts';
import type { CapabilityBenchmark } from './capability-benchmark.ts';
import type { ParticipationWatch } from './participation.ts';
import { testFailure } from './test-hooks.ts';
import type { TrainerLink } from './trainer-link.ts';
import type { BenchmarkResult, FromWorker } from './worker-messages.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type Unavailable = Extract<Participation, { available: false }>;
type Trained = Extract<FromWorker, { kind: 'trained' }>;

/** The parts of the page's test state (main.ts `__fedtsa`) a round writes. */
export interface RoundState {
  phase: string;
  rounds: { round: number; accepted: boolean; numTensors: number; loss: number; numSamples: number; source: 'demo' | 'own';
    evaluation?: { accuracy: number; loss: number; count: number } }[];
  /** Rounds this page sat out, and why (participation policy not met). */
  withdrawn: { round: number; reasons: string[] }[];
  /** Rounds redone on another backend after the first failed. */
  fallbacks: { round: number; from: string; to: string; reason: string; samplesPerSec: number }[];
}

export interface RoundDeps {
  state: RoundState;
  trainer: TrainerLink;
  benchmark: CapabilityBenchmark;
  participation: ParticipationWatch;
  welcome(): Welcome | undefined;
  /** Where the trainer's data came from. */
  source(): 'demo' | 'own';
  reportCapability(s: ClientSocket, result: BenchmarkResult): Promise<void>;
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;

export function roundRunner(deps: RoundDeps): { run(s: ClientSocket, task: TrainingTask): Promise<void>; abort(why: Unavailable): void } {
  const { state, trainer, benchmark, participation } = deps;
  /** Set by abort() while a round trains: why it was stopped. */
  let stopped: Unavailable | undefined;

  /** The participation policy is not met: no training this round; the coordinator withdraws the page (#participation says why). */
  const sitOut = (s: ClientSocket, round: number, p: Unavailable): void => {
    s.emit('participation', p);
    state.withdrawn.push({ round, reasons: [...p.reasons] });
    state.phase = 'ready';
    $('status').textContent = `not taking part in round ${round} (${p.reasons.join(', ')}); it takes part again once it can`;
    s.emit('heartbeat', { status: 'idle' });
  };

  /** The round was redone on another backend: that backend and its speed are the device's capability now. */
  const onFallback = async (s: ClientSocket, round: number, trained: Trained): Promise<void> => {
    const [f, before, w] = [trained.fallback, await benchmark.latest(), deps.welcome()];
    if (!f || !before || !w) return;
    state.fallbacks.push({ round, from: f.from, to: trained.backend, reason: f.reason, samplesPerSec: f.samplesPerSec });
    const result = await benchmark.replace(w.task, afterFallback(before, { from: f.from, to: trained.backend, reason: f.reason, samplesPerSec: f.samplesPerSec }));
    await deps.reportCapability(s, result);
  };

  const run = async (s: ClientSocket, task: TrainingTask): Promise<void> => {
    await participation.ready;
    const now = participation.current();
    if (!now.available) return sitOut(s, task.round, now);
    stopped = undefined;
    state.phase = 'training';
    $('training').hidden = false;
    $('round').textContent = String(task.round);
    $('status').textContent = 'training';
    s.emit('heartbeat', { status: 'training', round: task.round });
    let wakeLock: { release(): Promise<void> } | undefined;
    try {
      wakeLock = await (navigator as unknown as { wakeLock?: { request(t: 'screen'): Promise<{ release(): Promise<void> }> } }).wakeLock?.request('screen');
    } catch {
      wakeLock = undefined; // not allowed here (e.g. a hidden tab); training goes on without it
    }
    const source = deps.source();
    const ranked = await benchmark.latest();
    const failure = ranked && testFailure(ranked.backend);
    trainer.send({
      kind: 'train', task, evaluateLocally: deps.welcome()?.serverEvaluates === false, fallbacks: ranked ? fallbackOrder(ranked) : [],
      ...(failure ? { testFailure: failure } : {}),
    });
    let trained: Trained;
    try {
      trained = await trainer.next('trained');
    } catch (err) {
      if (!stopped) throw err;
      return sitOut(s, task.round, stopped); // stopped by abort(): the policy stopped being met
    } finally {
      await wakeLock?.release().catch(() => undefined);
    }
    if (stopped) return sitOut(s, task.round, stopped); // finished just as it was stopped: withdrawn all the same, nothing to send
    const { evaluation, numSamples } = trained.update;
    const res = (await s.timeout(60_000).emitWithAck('update', trained.update)
      .catch((err: Error) => ({ ok: false as const, error: { code: 'TIMEOUT', message: err.message } }))) as Ack<{ accepted: true; round: number }>;
    state.rounds.push({ round: task.round, accepted: res.ok, numTensors: trained.numTensors, loss: trained.loss, numSamples, source, ...(evaluation ? { evaluation } : {}) });
    state.phase = 'ready';
    $('status').textContent = res.ok ? `round ${task.round} sent; waiting for the next round` : `round ${task.round} not accepted (${res.error.code})`;
    const scored = evaluation ? `; the model received scored ${(evaluation.accuracy * 100).toFixed(1)}% on ${evaluation.count} held-out images` : '';
    $('progress-text').textContent = `round ${task.round} done in ${(trained.elapsedMs / 1000).toFixed(1)} s, loss ${trained.loss.toFixed(3)}${scored}`;
    s.emit('heartbeat', { status: 'idle' });
    if (trained.fallback) await onFallback(s, task.round, trained);
  };

  return {
    run,
    abort(why) {
      if (state.phase !== 'training') return;
      stopped = why;
      trainer.send({ kind: 'abort' });
    },
  };
}
