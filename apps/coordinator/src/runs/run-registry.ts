/**
 * All runs of this coordinator: creates them, restores them after a restart (each continues
 * from its last completed round), and hands out their engines. A run with Stage 2 has its
 * synthetic pool made in the background (ServerWork.ensurePool) from the moment it is created or
 * restored until it completes or stops.
 */
import { randomBytes } from 'node:crypto';
import { initialWeights } from '@fedtsa/core/model';
import { deriveSeed } from '@fedtsa/core/rng';
import { taskSpec } from '@fedtsa/core/task';
import type { TaskCatalog } from '../tasks/task-catalog.ts';
import type { RunRecord, RunStore } from '../store/types.ts';
import type { ServerWork } from './server-work.ts';
import { RunEngine, type EngineEvents } from './run-engine.ts';
import { FieldError } from '../field-errors.ts';
import { resolveSettings } from './settings.ts';

export function randomToken(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

export class RunRegistry {
  private readonly engines = new Map<string, RunEngine>();
  /** What the engines report, seen on its way to the hub: a run that ends stops its pool's generation. */
  private readonly engineEvents: EngineEvents;

  constructor(
    private readonly store: RunStore,
    private readonly serverWork: ServerWork,
    readonly tasks: TaskCatalog,
    events: EngineEvents,
  ) {
    this.engineEvents = {
      ...events,
      changes: {
        emit: (change) => {
          if (change.what === 'state') this.stateChanged(change.runId);
          events.changes.emit(change);
        },
      },
    };
    serverWork.onPoolProgress((runId) => events.changes.emit({ runId, what: 'pool' }));
    for (const run of store.listRuns()) {
      // A run whose task is gone (its folder moved) waits, listed in the store, until the task is back.
      if (tasks.get(run.settings.task)) {
        this.engines.set(run.id, this.makeEngine(run));
        this.ensurePool(run);
      } else events.log('warn', `run ${run.id} is not loaded: its task '${run.settings.task}' is not registered (register its folder again)`);
    }
  }

  private makeEngine(run: RunRecord): RunEngine {
    const spec = taskSpec(this.tasks.require(run.settings.task).task);
    // The initial weights are a pure function of the run's seed, so nothing needs saving for round 0.
    return new RunEngine(run, this.store, this.serverWork, spec, initialWeights(spec, deriveSeed(run.settings.seed, 5)), this.engineEvents);
  }

  /** Starts making the pool of a run that will still run Stage 2: the rounds it has left draw on it. */
  private ensurePool(run: RunRecord): void {
    const generatorDir = this.tasks.get(run.settings.task)?.generatorDir;
    if (!run.settings.stage2.enabled || !generatorDir || run.state === 'completed' || run.state === 'stopped') return;
    this.serverWork.ensurePool({
      runId: run.id, generatorDir, stage2: run.settings.stage2, seed: run.settings.seed, rounds: run.settings.rounds, nextRound: run.completedRound + 1,
    });
  }

  private stateChanged(runId: string): void {
    const state = this.engines.get(runId)?.record.state;
    if (state === 'completed' || state === 'stopped') this.serverWork.forgetPool(runId);
  }

  create(name: string, settings: unknown): RunEngine {
    const now = Date.now();
    const resolved = resolveSettings(settings);
    const task = this.tasks.require(resolved.task);
    if (task.stage2Off) {
      // A task without a generator that fits it runs Stage 1 only; asking for Stage 2 outright is refused.
      const asked = (settings as { stage2?: { enabled?: unknown } } | undefined)?.stage2?.enabled === true;
      if (asked) throw new FieldError('settings.stage2.enabled', `${task.stage2Off}, so Stage 2 cannot run (leave stage2.enabled out, or false, for Stage 1 only)`);
      resolved.stage2.enabled = false;
    }
    const run: RunRecord = {
      id: `run-${randomToken(6)}`, name, settings: resolved, state: 'created',
      joinToken: randomToken(), completedRound: 0, createdAt: now, updatedAt: now,
    };
    this.store.createRun(run);
    const engine = this.makeEngine(run);
    this.engines.set(run.id, engine);
    this.ensurePool(run);
    return engine;
  }

  get(id: string): RunEngine | undefined {
    return this.engines.get(id);
  }

  list(): RunEngine[] {
    return [...this.engines.values()];
  }

  /** After a restart: runs that were running pick up again as clients reconnect. */
  resumeRunning(): void {
    for (const engine of this.engines.values()) if (engine.record.state === 'running') engine.maybeStartRound();
  }

  dispose(): void {
    for (const engine of this.engines.values()) engine.dispose();
  }
}
