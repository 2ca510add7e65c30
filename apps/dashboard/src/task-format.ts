/**
 * Words and series for tasks and for who evaluated a number: pure functions shared by the New run
 * form, the run view, the metrics table and the charts (and tested beside them).
 *
 * Two kinds of evaluation (apps/coordinator/src/runs/round-record.ts):
 *   'server'  the coordinator scored the round's final model on its own test set;
 *   'clients' the task has no server test set: each client scored the model it RECEIVED that
 *             round (the previous round's result) on held-out local data, and the round records
 *             the count-weighted mean per cluster. So a client-scored number of round r describes
 *             the model after round r - 1, and the series put it there; the last round's model
 *             has no client score until another round runs.
 */
import type { ClusterRoundMetric, RoundSummary } from '@fedtsa/protocol/dashboard';
import type { TaskSummary } from './api.ts';

export type EvaluatedBy = 'server' | 'clients';

/** A round's cluster metric as the coordinator sends it; the two fields came with federated evaluation (issue 14). */
export type ClusterMetric = ClusterRoundMetric;
export type RoundMetrics = Pick<RoundSummary, 'round' | 'meanAccuracy'> & { clusters: readonly ClusterMetric[] };

export const EVALUATION_LABEL: Record<EvaluatedBy, string> = {
  server: 'server test set',
  clients: "clients' held-out data (the model they received)",
};

/** [height, width, channels] as "32×32×1 (grey)". */
export function shapeText([height, width, channels]: readonly [number, number, number]): string {
  return `${height}×${width}×${channels} (${channels === 1 ? 'grey' : 'colour'})`;
}

/** "6 classes: a, b, c, d, e, f"; past `max` names the rest are counted, not listed. */
export function classesText(names: readonly string[], max = 12): string {
  const shown = names.slice(0, max).join(', ');
  const rest = names.length - max;
  return `${names.length} classes: ${shown}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** One line for the task select: name, shape, number of classes and who evaluates. */
export function taskOptionText(task: TaskSummary): string {
  return `${task.name} (${shapeText(task.inputShape)}, ${task.classNames.length} classes, ${task.serverEvaluates ? 'server evaluates' : 'clients evaluate'}${task.generator ? '' : ', Stage 1 only'})`;
}

/** The whole summary of a task, for the form and the run view. */
export function taskSummaryText(task: TaskSummary): string {
  const images = `${task.trainImages} training images${task.testImages > 0 ? `, ${task.testImages} test images` : ''}`;
  const stage2 = task.generator ? `Stage 2 with the generator in ${task.generator}` : `Stage 1 only: ${task.stage2Off ?? 'no generator'}`;
  return `${task.name}: ${shapeText(task.inputShape)}, ${classesText(task.classNames)}. ${images}; evaluated on the ${EVALUATION_LABEL[task.serverEvaluates ? 'server' : 'clients']}. ${stage2}.`;
}

export const evaluatedBy = (m: ClusterMetric): EvaluatedBy => m.evaluatedBy ?? 'server';

/** The run's kind of evaluation: what its latest round recorded, else what its task implies, else the server. */
export function runEvaluation(rounds: readonly RoundMetrics[], task: TaskSummary | undefined): EvaluatedBy {
  const last = [...rounds].reverse().find((r) => r.clusters.length > 0);
  if (last) return last.clusters.some((c) => evaluatedBy(c) === 'clients') ? 'clients' : 'server';
  return task === undefined || task.serverEvaluates ? 'server' : 'clients';
}

/** A client-scored cluster nobody reported on has a placeholder 0, not a score. */
const scored = (m: ClusterMetric): boolean => evaluatedBy(m) === 'server' || (m.evaluatedImages ?? 0) > 0;

/** The round whose model a number describes (see the header). */
const modelRound = (round: number, m: ClusterMetric): number => evaluatedBy(m) === 'clients' ? round - 1 : round;

type XY = { x: number; y: number };
export interface ClusterSeries { clusterIndex: number; widthRatio: number; evaluatedBy: EvaluatedBy; accuracy: XY[]; loss: XY[] }

/** Accuracy (%) and loss per cluster and the mean accuracy, x = the round whose model was scored. */
export function perRoundSeries(rounds: readonly RoundMetrics[]): { clusters: ClusterSeries[]; meanAccuracy: XY[] } {
  const byCluster = new Map<number, ClusterSeries>();
  const mean: XY[] = [];
  for (const r of rounds) {
    for (const m of r.clusters) {
      let s = byCluster.get(m.clusterIndex);
      if (!s) byCluster.set(m.clusterIndex, (s = { clusterIndex: m.clusterIndex, widthRatio: m.widthRatio, evaluatedBy: evaluatedBy(m), accuracy: [], loss: [] }));
      s.widthRatio = m.widthRatio;
      s.evaluatedBy = evaluatedBy(m);
      if (m.startAccuracy !== undefined && m.startLoss !== undefined) {
        s.accuracy.push({ x: r.round - 1, y: m.startAccuracy * 100 });
        s.loss.push({ x: r.round - 1, y: m.startLoss });
      }
      if (!scored(m)) continue;
      s.accuracy.push({ x: modelRound(r.round, m), y: m.accuracy * 100 });
      s.loss.push({ x: modelRound(r.round, m), y: m.loss });
    }
    const counted = r.clusters.filter(scored);
    if (counted.length > 0) mean.push({ x: modelRound(r.round, counted[0] as ClusterMetric), y: r.meanAccuracy * 100 });
  }
  return { clusters: [...byCluster.values()].sort((a, b) => a.clusterIndex - b.clusterIndex), meanAccuracy: mean };
}

export interface MetricRow { cluster: string; accuracy: string; loss: string; evaluatedOn: string }

/** The latest round's numbers per cluster, each saying what it was measured on and which model it scored. */
export function latestMetricRows(rounds: readonly RoundMetrics[]): MetricRow[] {
  const last = rounds[rounds.length - 1];
  if (!last) return [];
  return [...last.clusters].sort((a, b) => a.clusterIndex - b.clusterIndex).map((m) => {
    const cluster = `${m.clusterIndex} (w ${m.widthRatio})`;
    if (evaluatedBy(m) === 'server') {
      return { cluster, accuracy: `${(m.accuracy * 100).toFixed(1)}%`, loss: m.loss.toFixed(3), evaluatedOn: `server test set, model after round ${last.round}` };
    }
    if (!scored(m)) return { cluster, accuracy: '-', loss: '-', evaluatedOn: `clients' held-out data: no client reported in round ${last.round}` };
    const model = last.round === 1 ? 'the starting model' : `the model after round ${last.round - 1}`;
    return {
      cluster, accuracy: `${(m.accuracy * 100).toFixed(1)}%`, loss: m.loss.toFixed(3),
      evaluatedOn: `clients' held-out data (${m.evaluatedImages} images), ${model} they received in round ${last.round}`,
    };
  });
}

/** The sentence above the accuracy and loss charts. */
export function evaluationHint(kind: EvaluatedBy): string {
  return kind === 'server'
    ? 'Measured on the server test set: each point is the model after that round.'
    : "Measured on the clients' held-out data (the model they received): the server has no test set for this task, so each client scores the model it receives before training on it. A point at round r is the model after round r, scored in round r + 1; the newest model has no score until another round runs.";
}

/**
 * A refusal of POST /api/tasks in plain words. The coordinator's message is worded for API users:
 * "the folder cannot be registered as a task: dir: the folder lies outside the data root"; in the
 * form the field is the folder (or name) box itself, so everything up to the field's name goes.
 */
export function plainRefusal(message: string): string {
  const m = /(?:^|: )(?:body\.)?(?:dir|name): (.+)$/s.exec(message);
  return m ? m[1] as string : message;
}
