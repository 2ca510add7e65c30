/** The dashboard's four charts (Chart.js), updated in place as the run's summary changes. */
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement,
  LogarithmicScale, PointElement, ScatterController, Tooltip, type ChartDataset,
} from 'chart.js';
import type { DashboardRun } from '@fedtsa/protocol/dashboard';
import { poolNote, timelineSeries } from './round-timeline.ts';
import { perRoundSeries, type ClusterSeries, type EvaluatedBy } from './task-format.ts';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, ScatterController, Tooltip);

const PALETTE = ['#2f6fdb', '#d9480f', '#2b8a3e', '#9c36b5', '#e8590c', '#0b7285', '#5c940d', '#c2255c'];
export const clusterColor = (k: number): string => PALETTE[k % PALETTE.length] as string;

type XY = { x: number; y: number };

const ROUND_WITHOUT_POOL = { round: 0, stage2Stats: {} } as DashboardRun['rounds'][number];

const common = {
  responsive: true, maintainAspectRatio: false, animation: false as const,
  plugins: { legend: { position: 'bottom' as const, labels: { boxWidth: 12 } } },
};

export class RunCharts {
  private readonly density: Chart<'scatter', XY[]>;
  private readonly accuracy: Chart<'line', XY[]>;
  private readonly loss: Chart<'line', XY[]>;
  private readonly timeline: Chart<'bar', number[], string>;
  private timelineRounds: DashboardRun['rounds'] = [];

  constructor(canvases: { density: HTMLCanvasElement; accuracy: HTMLCanvasElement; loss: HTMLCanvasElement; timeline: HTMLCanvasElement }) {
    this.density = new Chart(canvases.density, {
      type: 'scatter', data: { datasets: [] },
      options: {
        ...common,
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: 'training speed (samples/s)' } },
          y: { beginAtZero: true, title: { display: true, text: 'density' } },
        },
      },
    });
    const perRound = (title: string, yMax?: number) => ({
      ...common,
      scales: {
        x: { type: 'linear' as const, title: { display: true, text: 'round' }, ticks: { precision: 0 } },
        y: { title: { display: true, text: title }, beginAtZero: yMax !== undefined, ...(yMax !== undefined ? { max: yMax } : {}) },
      },
    });
    this.accuracy = new Chart(canvases.accuracy, { type: 'line', data: { datasets: [] }, options: perRound('accuracy (%)', 100) });
    this.loss = new Chart(canvases.loss, { type: 'line', data: { datasets: [] }, options: perRound('loss') });
    this.timeline = new Chart(canvases.timeline, {
      type: 'bar', data: { labels: [], datasets: [] },
      options: {
        ...common,
        scales: { x: { stacked: true, title: { display: true, text: 'round' } }, y: { stacked: true, title: { display: true, text: 'seconds' } } },
        // The pool a round's Stage 2 had, when it was less than the round's (the background generation not done yet).
        plugins: { ...common.plugins, tooltip: { callbacks: { footer: (items) => poolNote(this.timelineRounds[items[0]?.dataIndex ?? -1] ?? ROUND_WITHOUT_POOL) } } },
      },
    });
  }

  /** `evaluation`: how the run's accuracy and loss were measured (task-format.ts, runEvaluation). */
  update(run: DashboardRun, evaluation: EvaluatedBy): void {
    this.updateDensity(run);
    this.updatePerRound(run, evaluation);
    this.updateTimeline(run);
  }

  private updateDensity(run: DashboardRun): void {
    const c = run.clustering;
    const datasets: ChartDataset<'scatter', XY[]>[] = [];
    if (c) {
      const peak = Math.max(...c.grid.density, 1e-9);
      datasets.push({
        label: 'density', data: c.grid.x.map((x, i) => ({ x, y: c.grid.density[i] as number })),
        showLine: true, pointRadius: 0, borderColor: '#4a5566', backgroundColor: 'rgba(74, 85, 102, 0.12)', fill: 'origin', borderWidth: 1.5,
      });
      c.boundaries.forEach((b, i) => datasets.push({
        label: i === 0 ? 'boundary' : '', data: [{ x: b, y: 0 }, { x: b, y: peak * 1.05 }],
        showLine: true, pointRadius: 0, borderColor: '#1c2430', borderDash: [5, 4], borderWidth: 1.5,
      }));
      for (const cl of c.clusters) {
        const members = new Set(cl.memberIds);
        const points = run.clients.filter((x) => members.has(x.id) && x.samplesPerSec > 0);
        // Members sit along the bottom, spread a little vertically so equal scores stay visible.
        datasets.push({
          label: `cluster ${cl.index} (w ${cl.widthRatio})`,
          data: points.map((p, i) => ({ x: p.samplesPerSec, y: peak * (0.03 + 0.05 * (i % 4)) })),
          pointRadius: 5, backgroundColor: clusterColor(cl.index), borderColor: '#fff', borderWidth: 1,
        });
      }
    }
    const unclustered = run.clients.filter((x) => x.clusterIndex === null && x.samplesPerSec > 0 && x.status !== 'left');
    if (unclustered.length > 0) {
      datasets.push({ label: 'waiting', data: unclustered.map((p) => ({ x: p.samplesPerSec, y: 0 })), pointRadius: 5, backgroundColor: '#adb5bd' });
    }
    this.density.data.datasets = datasets;
    this.density.options.plugins = { ...this.density.options.plugins, legend: { position: 'bottom', labels: { boxWidth: 12, filter: (item) => item.text !== '' } } };
    this.density.update('none');
  }

  /**
   * Each number says what it was measured on: the axis titles and legend name the kind of
   * evaluation, and client-scored points sit at the round whose model the clients received
   * (task-format.ts, perRoundSeries).
   */
  private updatePerRound(run: DashboardRun, evaluation: EvaluatedBy): void {
    const series = perRoundSeries(run.rounds);
    const byClients = evaluation === 'clients';
    const suffix = byClients ? ", clients' held-out data" : '';
    const line = (s: ClusterSeries, data: XY[]): ChartDataset<'line', XY[]> => ({
      label: `cluster ${s.clusterIndex} (w ${s.widthRatio})${s.evaluatedBy === 'clients' ? ", clients' held-out data" : ''}`,
      data, borderColor: clusterColor(s.clusterIndex), backgroundColor: clusterColor(s.clusterIndex), pointRadius: 3, tension: 0.15,
    });
    this.accuracy.data.datasets = [
      ...series.clusters.map((s) => line(s, s.accuracy)),
      { label: `member-weighted mean${suffix}`, data: series.meanAccuracy, borderColor: '#1c2430', borderDash: [6, 4], pointRadius: 0 },
    ];
    this.loss.data.datasets = series.clusters.map((s) => line(s, s.loss));
    const x = byClients ? 'model after round (scored by clients in the next round)' : 'round';
    for (const [chart, y] of [[this.accuracy, 'accuracy (%)'], [this.loss, 'loss']] as const) {
      const scales = chart.options.scales as Record<'x' | 'y', { title: { text: string } }>;
      scales.x.title.text = x;
      scales.y.title.text = `${y}, ${byClients ? "clients' held-out data" : 'server test set'}`;
    }
    this.accuracy.update('none');
    this.loss.update('none');
  }

  private updateTimeline(run: DashboardRun): void {
    const rounds = run.rounds;
    this.timelineRounds = rounds;
    this.timeline.data.labels = rounds.map((r) => String(r.round));
    const t = timelineSeries(rounds);
    this.timeline.data.datasets = [
      { label: 'clients + evaluation', data: t.clients, backgroundColor: '#adb5bd' },
      { label: 'waiting for the pool', data: t.poolWait, backgroundColor: '#ffe066' },
      { label: 'Stage 1', data: t.stage1, backgroundColor: '#2f6fdb' },
      { label: 'Stage 2 generation', data: t.generation, backgroundColor: '#f08c00' },
      { label: 'Stage 2 mutual learning', data: t.mutualLearning, backgroundColor: '#d9480f' },
      { label: 'Stage 2 other', data: t.stage2Other, backgroundColor: '#862e9c' },
    ];
    this.timeline.update('none');
  }
}
