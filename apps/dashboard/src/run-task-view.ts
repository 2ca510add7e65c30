/**
 * The run view's task and evaluation: the run's task (name, shape, classes) under its name, the
 * kind of evaluation above the accuracy and loss charts, and the latest round's numbers per
 * cluster, each saying what it was measured on.
 */
import type { DashboardRun } from '@fedtsa/protocol/dashboard';
import type { TaskSummary } from './api.ts';
import { evaluationHint, latestMetricRows, runEvaluation, taskSummaryText, type EvaluatedBy } from './task-format.ts';

/** The run's task name: the setting, or Fashion-MNIST for runs stored before tasks (the coordinator migrates them so). */
export const runTaskName = (run: DashboardRun): string => typeof run.settings.task === 'string' ? run.settings.task : 'fashion-mnist';

/** Renders into the page's #run-task, #eval-accuracy, #eval-loss and #latest-metrics; returns the run's kind of evaluation. */
export function renderRunTask(run: DashboardRun, task: TaskSummary | undefined): EvaluatedBy {
  const kind = runEvaluation(run.rounds, task);
  const byId = (id: string) => document.getElementById(id) as HTMLElement;
  byId('run-task').textContent = `Task ${task ? taskSummaryText(task) : `${runTaskName(run)}.`}`;
  byId('run-task').dataset.evaluatedBy = kind;
  for (const id of ['eval-accuracy', 'eval-loss']) byId(id).textContent = evaluationHint(kind);
  const table = byId('latest-metrics');
  const rows = latestMetricRows(run.rounds);
  table.hidden = rows.length === 0;
  table.querySelector('caption')!.textContent = rows.length === 0 ? '' : `Round ${run.rounds[run.rounds.length - 1]?.round}`;
  table.querySelector('tbody')!.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[r.cluster, ''], [r.accuracy, 'num'], [r.loss, 'num'], [r.evaluatedOn, 'evaluated-on']] as const) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  }));
  return kind;
}
