/**
 * Fan-out: one coordinator process with N connected lightweight virtual clients (sockets that
 * report a capability and echo the model back, no training), P of them selected per round.
 * Reports the time from a round's close until every participant of the next round has its
 * model (median and 95th percentile over participants, rounds 2 and 3), against the same
 * latency with a single participant measured in the same run, and the coordinator's
 * resident memory per connected client.
 *   node --import tsx bench/fan-out.ts [--clients 1000] [--participants 200] [--samples-per-sec S]
 */
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents, TrainingTask } from '@fedtsa/protocol/events';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { PROTOCOL_VERSION } from '@fedtsa/protocol/messages';
import { startCoordinator, type CoordinatorProcess } from '../e2e/coordinator-process.ts';
import { modelManifest, parameterCount } from '@fedtsa/core/architecture';
import { FASHION_MNIST_TASK, taskSpec } from '@fedtsa/core/task';
import { fmt, percentile, table } from './lib.ts';

const { values } = parseArgs({ options: { clients: { type: 'string' }, participants: { type: 'string' }, 'samples-per-sec': { type: 'string' } } });
const N = Number(values.clients ?? 1000);
const P = Number(values.participants ?? 200);
// 5000 samples/s gets the width-1 model (206,922 parameters), 50 the width-1/2 one (52,138): the two bracket 100k.
const SPEEDS = (values['samples-per-sec'] ?? '5000,50').split(',').map(Number);

/** V8 heap plus memory held outside it (buffers), after a full collection in the coordinator. */
async function liveBytes(coordinator: CoordinatorProcess): Promise<number> {
  const p = await coordinator.api<{ memory: NodeJS.MemoryUsage; gcCollected: boolean }>('GET', '/api/process?gc=1');
  if (!p.gcCollected) throw new Error('the coordinator did not collect garbage (started without --expose-gc?)');
  return p.memory.heapUsed + p.memory.external;
}

/**
 * liveBytes once it has settled: memory a worker hands back is released a few seconds after a
 * collection (measured: external memory 239 MiB right after boot, 60 MiB three seconds later).
 */
async function settledBytes(coordinator: CoordinatorProcess): Promise<number> {
  let last = await liveBytes(coordinator);
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await liveBytes(coordinator);
    if (Math.abs(now - last) < 2 ** 20) return now;
    last = now;
  }
  return last;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
interface Light { socket: ClientSocket; received: Map<number, number>; width?: number }

/** A client that joins, reports a speed, and returns the model it was sent, unchanged. */
function lightClient(url: string, run: { id: string; joinToken: string }, speed: number): Promise<Light> {
  const auth: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION, runId: run.id, joinToken: run.joinToken };
  const socket: ClientSocket = io(`${url}${CLIENT_NAMESPACE}`, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
  const light: Light = { socket, received: new Map() };
  socket.on('task', (task: TrainingTask) => {
    light.received.set(task.round, Date.now());
    light.width = task.widthRatio;
    socket.emit('update', { runId: task.runId, round: task.round, clusterIndex: task.clusterIndex, taskId: task.taskId, numSamples: 100, trainLoss: 1, weights: task.weights }, (res) => {
      if (!res.ok) console.error(`update refused: ${res.error.code} ${res.error.message}`);
    });
  });
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('welcome', () => {
      socket.timeout(60_000).emitWithAck('capability', { samplesPerSec: speed, backend: 'node', label: 'light' }).then((res) => {
        if (res.ok) resolve(light);
        else reject(new Error(`capability refused: ${res.error.code} ${res.error.message}`));
      }, reject);
    });
  });
}

interface Round { round: number; startedAt: number; closedAt: number; participants: number; updatesAccepted: number }

async function measure(coordinator: CoordinatorProcess, clients: number, participants: number, speed: number): Promise<{ latencies: number[]; fanOut: number[]; bytesPerClient: number; width: number }> {
  const run = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', {
    name: `fan-out-${clients}`, start: false,
    settings: { rounds: 3, participantsPerCluster: participants, minClientsToStart: clients, minClientsPerCluster: clients, roundDeadlineMs: 300_000, evalSamples: 100, stage2: { enabled: false } },
  });
  const before = await settledBytes(coordinator);
  const lights: Light[] = [];
  for (let i = 0; i < clients; i += 50) {
    lights.push(...await Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => lightClient(coordinator.url, run, speed))));
  }
  // Measured once everyone is connected and joined, after a full collection.
  const bytesPerClient = (await settledBytes(coordinator) - before) / clients;
  await coordinator.api('POST', `/api/runs/${run.id}/start`);
  const deadline = Date.now() + 600_000;
  let rounds: Round[] = [];
  while ((rounds = await coordinator.api<Round[]>('GET', `/api/runs/${run.id}/rounds`)).length < 3) {
    if (Date.now() > deadline) throw new Error(`run ${run.id}: only ${rounds.length} rounds after 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const latencies: number[] = [];
  const fanOut: number[] = [];
  for (const r of [2, 3]) {
    const prev = rounds.find((x) => x.round === r - 1) as Round;
    const cur = rounds.find((x) => x.round === r) as Round;
    for (const l of lights) {
      const t = l.received.get(r);
      if (t === undefined) continue;
      latencies.push(t - prev.closedAt);
      fanOut.push(t - cur.startedAt);
    }
  }
  const width = lights.find((l) => l.width !== undefined)?.width ?? Number.NaN;
  for (const l of lights) l.socket.disconnect();
  await coordinator.api('POST', `/api/runs/${run.id}/stop`).catch(() => undefined);
  return { latencies, fanOut, bytesPerClient, width };
}

const rows: (string | number)[][] = [];
let receipts = 0;
let idle = 0;
for (const speed of SPEEDS) {
  // A fresh process per model size, so one run's leftovers do not blur the next one's figures.
  // Every client of both measurements (N, then 1) is a new identity from this one address, within
  // a minute or so: over the default cap of 30 per address and minute, which would refuse them.
  const coordinator = await startCoordinator({ nodeArgs: ['--expose-gc'], args: ['--identities-per-minute', String(N + 1)] });
  try {
    idle = Math.max(idle, (await coordinator.api<{ memory: NodeJS.MemoryUsage }>('GET', '/api/process')).memory.rss);
    const many = await measure(coordinator, N, P, speed);
    const single = await measure(coordinator, 1, 1, speed);
    const base = percentile(single.latencies, 50);
    const params = parameterCount(modelManifest(taskSpec(FASHION_MNIST_TASK), many.width)).toLocaleString('en');
    rows.push([params, 1, 1, fmt(base, 0), fmt(percentile(single.latencies, 95), 0), fmt(percentile(single.fanOut, 95), 0), '1.00 (baseline)', '-']);
    rows.push([params, N, P, fmt(percentile(many.latencies, 50), 0), fmt(percentile(many.latencies, 95), 0), fmt(percentile(many.fanOut, 95), 0),
      fmt(percentile(many.latencies, 95) / base), fmt(many.bytesPerClient / 1024, 1)]);
    receipts += many.latencies.length;
  } finally {
    await coordinator.stop();
  }
}
console.log(`One coordinator process (wasm, Stage 2 off, float32 downlink), lightweight clients in one other process; a fresh coordinator per model size, RSS when idle ${(idle / 2 ** 20).toFixed(0)} MiB; memory per client is the growth of V8 heap plus external memory (after a full GC in the coordinator) from before the first client connects to when all have joined, before the run starts. ` +
  `Latency = a participant's receipt of its task minus the previous round's close (the round record is closed after Stage 1, evaluation and saving); fan-out = receipt minus the round's start. ` +
  `The two model sizes bracket 100k parameters (the coordinator's model is fixed at the reference CNN).\n`);
console.log(table(['model parameters', 'connected', 'per round', 'latency median (ms)', 'latency p95 (ms)', 'fan-out p95 (ms)', 'p95 / single-client median', 'memory per connected client (KiB)'], rows));
console.log(`\n${receipts} participant receipts measured (rounds 2 and 3 of each run).`);

