/**
 * The tasks this coordinator can run: the built-in Fashion-MNIST and any registered from a
 * folder (an IDX folder or an image folder, loaded by node-io), each with the server's data for
 * it: its training images (the demo shards are dealt from them) and its test set when it has
 * one (without one, clients evaluate: Welcome.serverEvaluates). Folders must lie inside the
 * configured data root; registrations are kept in the store and loaded again at every start.
 */
import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { TASK_LIMITS, taskSpec, validateTask, type TaskDefinition } from '@fedtsa/core/task';
import type { TaskSummary } from '@fedtsa/protocol/dashboard';
import { stage2Unavailable } from '@fedtsa/node-io/generator-fit';
import { DemoData, type DemoOptions } from '../demo-data.ts';
import { FieldError } from '../field-errors.ts';

export interface TaskData {
  task: TaskDefinition;
  train?: LabelledImages;
  test?: LabelledImages;
}

export interface TaskEntry extends TaskData {
  /** 'built-in', or the folder it was loaded from. */
  source: string;
  /** Its Stage 2 generator, checked to fit it (shape and classes); absent: its runs are Stage 1 only. */
  generatorDir?: string;
  /** Why it has no Stage 2 (no generator, or one of another shape). */
  stage2Off?: string;
}

/** Loads a task from a folder (node-io's loaders); `name` overrides the one derived from the folder. */
export type TaskLoader = (dir: string, name?: string) => Promise<TaskData> | TaskData;

/** How the catalog keeps its registrations (the SQLite store). */
export interface TaskRegistrations {
  listTasks(): { name: string; source: string }[];
  saveTask(name: string, source: string, definition: TaskDefinition): void;
}

export class TaskCatalog {
  private readonly entries = new Map<string, TaskEntry>();
  private readonly demos = new Map<string, DemoData>();
  /** The largest width-1 model (parameters) a client may upload, once fixed (socket.io's message limit). */
  private maxParameters: number | undefined;

  constructor(
    builtIn: readonly TaskEntry[],
    private readonly options: {
      /** Folders may be registered only inside it; undefined = no registration from folders. */
      dataRoot?: string;
      load?: TaskLoader;
      registrations?: TaskRegistrations;
      demo: DemoOptions;
      /** Told of each task as it becomes available (the aggregation worker gets its test set and generator). */
      onTask?: (entry: TaskEntry) => void;
      /** Where a task's generator is looked for unless it names one (default: none). */
      generatorFor?: (taskName: string) => string;
    },
  ) {
    for (const e of builtIn) this.add(e);
  }

  /** Loads every registration kept in the store; one that fails to load is reported, not fatal. */
  async loadRegistered(warn: (message: string) => void): Promise<void> {
    for (const r of this.options.registrations?.listTasks() ?? []) {
      if (this.entries.has(r.name)) continue;
      try {
        await this.register(r.source, r.name, { save: false, confine: false });
      } catch (err) {
        warn(`task '${r.name}' from ${r.source} could not be loaded again: ${(err as Error).message}`);
      }
    }
  }

  get(name: string): TaskEntry | undefined {
    return this.entries.get(name);
  }

  /** The task a run names; refused in the run settings' words when there is none. */
  require(name: string): TaskEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new FieldError('settings.task', `no task named '${name.slice(0, 40)}'; this coordinator has ${[...this.entries.keys()].join(', ')}`);
    return entry;
  }

  list(): TaskSummary[] {
    return [...this.entries.values()].map((e) => ({
      name: e.task.name, inputShape: e.task.inputShape, classNames: e.task.classNames, source: e.source,
      trainImages: e.train?.count ?? 0, testImages: e.test?.count ?? 0, serverEvaluates: e.test !== undefined,
      generator: e.generatorDir ?? null, ...(e.stage2Off ? { stage2Off: e.stage2Off } : {}),
    }));
  }

  /** The demo shards of a task (dealt from its training images), made on first use. */
  demoFor(name: string): DemoData | undefined {
    let demo = this.demos.get(name);
    const entry = this.entries.get(name);
    if (!demo && entry?.train) this.demos.set(name, (demo = new DemoData(entry.train, this.options.demo)));
    return demo;
  }

  /**
   * Fixes the upload limit (socket.io's message size is set once): the reference CNN with its
   * default sizes at the largest task shape (64x64x3, 100 classes), so that any task of the
   * default family can be registered later, or a larger model among the tasks known now (at
   * start: --task folders and earlier registrations). A later task with a larger model is refused.
   */
  fixUploadLimit(): number {
    const largestShape = parameterCount(modelManifest({ inputShape: [TASK_LIMITS.maxSide, TASK_LIMITS.maxSide, 3], numClasses: TASK_LIMITS.maxClasses }, 1));
    this.maxParameters = Math.max(largestShape, ...[...this.entries.values()].map((e) => parameterCount(modelManifest(taskSpec(e.task), 1))));
    return this.maxParameters;
  }

  /**
   * Registers the task in `dir` under its own name or `name`. `confine` (the default; REST):
   * `dir` must lie inside the data root. The operator's --task folders are not confined.
   */
  async register(dir: string, name?: string, { save = true, confine = true, generator }: { save?: boolean; confine?: boolean; generator?: string } = {}): Promise<TaskEntry> {
    const root = this.options.dataRoot;
    const load = this.options.load;
    if (!load || (confine && !root)) throw new FieldError('dir', 'this coordinator registers no tasks from folders (start it with --data-root DIR)');
    const folder = confine ? confined(root as string, dir) : realpathSync(resolve(dir));
    const data = await load(folder, name);
    if (this.entries.has(data.task.name)) throw new FieldError('name', `a task named '${data.task.name}' exists already; choose another name`);
    const generatorDir = generator === undefined ? undefined : confine ? confined(root as string, generator) : resolve(generator);
    const entry = this.add({ ...data, source: folder, generatorDir });
    if (save) this.options.registrations?.saveTask(entry.task.name, folder, entry.task);
    return entry;
  }

  private add(given: TaskEntry): TaskEntry {
    validateTask(given.task, `task '${given.task.name}'`);
    // The task's generator: the one it names, else where generators are kept; it must fit, else Stage 1 only.
    const generatorDir = given.generatorDir ?? this.options.generatorFor?.(given.task.name);
    const stage2Off = generatorDir === undefined ? `task '${given.task.name}' has no generator` : stage2Unavailable(generatorDir, taskSpec(given.task), given.task.name);
    const entry: TaskEntry = { ...given, generatorDir: stage2Off ? undefined : generatorDir, ...(stage2Off ? { stage2Off } : {}) };
    const params = parameterCount(modelManifest(taskSpec(entry.task), 1));
    const max = this.maxParameters;
    if (max !== undefined && params > max) {
      throw new FieldError('dir', `task '${entry.task.name}' has a ${params}-parameter model, more than the ${max} a client may upload here; register it with --task at start, which sizes the limit`);
    }
    this.entries.set(entry.task.name, entry);
    this.options.onTask?.(entry);
    return entry;
  }
}

/** `dir` resolved (symbolic links too) and required to lie inside `root`. */
export function confined(root: string, dir: string): string {
  const realRoot = realpathSync(resolve(root));
  let real: string;
  try {
    real = realpathSync(resolve(realRoot, dir));
  } catch {
    throw new FieldError('dir', `no folder ${dir.slice(0, 200)} under the data root`);
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new FieldError('dir', 'the folder lies outside the data root (--data-root)');
  return real;
}
