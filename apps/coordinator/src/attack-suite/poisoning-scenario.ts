/**
 * Poisoning scenario against a real coordinator process with Stage 2 on (the committed
 * generator): honest VirtualClients in two speed tiers, and attackers written against
 * docs/protocol.md (the independent client, which shares no code with the project's clients).
 *
 *   - own-cluster attackers report a speed far above everyone's, so KDE gives them a cluster of
 *     their own, which Stage 2 would otherwise let teach every honest cluster;
 *   - inside attackers report the fast tier's speed and make up a third of its honest members.
 * Each attacker, from round `fromRound` on, uploads one of: the model it was sent scaled by
 * 1e3 or 1e10; its trained update sign-flipped (sent - (trained - sent), a normal size); or
 * that flipped update claiming 1e8 samples. Before `fromRound` it trains honestly.
 *
 * A run reports what a drill asserts: every saved model file finite, every honest refusal,
 * the final accuracy per honest tier (matched by label, since cluster indices differ between
 * runs), the round incidents (what the dashboard lists) and the coordinator's warn log lines.
 * Honest clients join one at a time before any attacker, so each holds the same demo shard in
 * every run and a run without attackers is the exact control.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '@fedtsa/core/backend';
import { spawnCoordinator } from '../../../../e2e/coordinator-process.ts';
import { IndependentClient, type Task } from '../protocol-suite/independent-client.ts';
import type { RoundRecord } from '../store/types.ts';
import { until } from '../test-helpers.ts';
import { VirtualClient } from '../virtual-client/virtual-client.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const ADMIN = 'poisoning-admin';

/** 'nan' is the control of a late attack: an upload that is refused outright, so the attacker contributes nothing from then on. */
export type Attack = 'scale1e3' | 'scale1e10' | 'signflip' | 'claim1e8' | 'nan';

export interface ScenarioOptions {
  /** Honest clients per tier: fast (speed ~600, width 1) and slow (speed ~20, width 1/4). */
  honest: { fast: number; slow: number };
  attack?: { kind: Attack; ownCluster: number; inside: number; fromRound: number };
  rounds: number;
  settings: Record<string, unknown>;
}

export interface ScenarioResult {
  runId: string;
  rounds: RoundRecord[];
  /** Final accuracy of the cluster holding each honest tier. */
  tierAccuracy: { fast: number; slow: number };
  honestRefusals: string[];
  /** Attackers' outcomes per round: accepted, or the refusal code (on arrival or at the close). */
  attackerOutcomes: string[];
  attackerIds: string[];
  nonFiniteFiles: string[];
  savedFiles: number;
  warnLines: string[];
  seconds: number;
}

export interface CoordinatorProcess {
  url: string;
  dataDir: string;
  log: string[];
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** A coordinator process with the committed generator (Stage 2 on) and its log kept in memory. */
export async function startPoisoningCoordinator(): Promise<CoordinatorProcess> {
  const spawned = await spawnCoordinator({
    // Every scenario's clients join from 127.0.0.1 (10 honest + 4 attackers): at the default 30
    // identities a minute, back-to-back scenarios on a quiet machine (under 20 s each) ran into the limit.
    cwd: REPO, captureLog: true, args: ['--admin-token', ADMIN, '--generator', 'checkpoints/fmnist-ddpm', '--demo-alpha', '0.5', '--identities-per-minute', '1000'],
  });
  return {
    url: spawned.url, dataDir: spawned.dataDir, log: spawned.log,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`${spawned.url}${path}`, {
        method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return res.json() as Promise<T>;
    },
    async stop() {
      await spawned.stop();
      rmSync(spawned.dataDir, { recursive: true, force: true });
    },
  };
}

function maliciousWeights(kind: Attack, task: Task, client: IndependentClient, shard: Parameters<IndependentClient['train']>[1]): Float32Array {
  const sent = IndependentClient.weightsOf(task);
  if (kind === 'scale1e3') return sent.map((v) => v * 1e3);
  if (kind === 'scale1e10') return sent.map((v) => v * 1e10);
  if (kind === 'nan') return sent.map(() => NaN);
  const trained = client.train(task, shard);
  return sent.map((v, i) => 2 * v - (trained[i] as number));
}

/** Every saved model file of the run: how many, and which hold a value that is not finite. */
function scanSavedModels(dataDir: string, runId: string): { files: number; nonFinite: string[] } {
  const root = join(dataDir, 'runs', runId);
  let files = 0;
  const nonFinite: string[] = [];
  if (!existsSync(root)) return { files, nonFinite };
  for (const round of readdirSync(root)) {
    for (const file of readdirSync(join(root, round)).filter((f) => f.endsWith('.f32'))) {
      files++;
      const bytes = readFileSync(join(root, round, file));
      const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
      if (!values.every(Number.isFinite)) nonFinite.push(`${round}/${file}`);
    }
  }
  return { files, nonFinite };
}

export async function runScenario(coordinator: CoordinatorProcess, options: ScenarioOptions): Promise<ScenarioResult> {
  // The honest clients (and the attackers, through the same tfjs engine) train on wasm in this process.
  await useBackend('wasm');
  const t0 = Date.now();
  const attack = options.attack;
  const attackers = attack ? attack.ownCluster + attack.inside : 0;
  const honestCount = options.honest.fast + options.honest.slow;
  const run = await coordinator.api<{ id: string; joinToken: string }>('POST', '/api/runs', {
    name: `poisoning ${attack ? `${attack.kind} from round ${attack.fromRound}` : 'control'}`,
    settings: { ...options.settings, rounds: options.rounds, minClientsToStart: honestCount + attackers }, start: true,
  });
  const honestRefusals: string[] = [];
  const honest: VirtualClient[] = [];
  const tiers = [...Array.from({ length: options.honest.fast }, (_, i) => ({ tier: 'fast', speed: 600 * (1 + 0.02 * i) })),
    ...Array.from({ length: options.honest.slow }, (_, i) => ({ tier: 'slow', speed: 20 * (1 + 0.02 * i) }))];
  const independent: IndependentClient[] = [];
  const outcomes: string[] = [];
  try {
    for (const [i, t] of tiers.entries()) {
      const c = new VirtualClient({ url: coordinator.url, runId: run.id, joinToken: run.joinToken, samplesPerSec: t.speed, label: `${t.tier}-${i}` }, {
        onRefused: (code, message) => honestRefusals.push(`${t.tier}-${i}: ${code} ${message}`),
      });
      honest.push(c);
      await until(() => c.welcome !== undefined, 30_000, `honest client ${i} to be welcomed`);
    }
    const loops: Promise<void>[] = [];
    for (let a = 0; a < attackers; a++) {
      const own = a < (attack as NonNullable<typeof attack>).ownCluster;
      const client = await IndependentClient.connect({ url: coordinator.url, runId: run.id, joinToken: run.joinToken });
      independent.push(client);
      const shard = await client.demoShard();
      await client.report({ samplesPerSec: own ? 1e6 * (1 + 0.01 * a) : 600 * (1 + 0.013 * a), backend: 'node', label: `attacker-${a}` });
      loops.push((async () => {
        for (let round = 1; round <= options.rounds; round++) {
          const task = await client.nextTask(600_000);
          const { kind, fromRound } = attack as NonNullable<typeof attack>;
          const evil = task.round >= fromRound;
          const weights = evil ? maliciousWeights(kind, task, client, shard) : client.train(task, shard);
          const ack = await client.upload(task, weights, { numSamples: evil && kind === 'claim1e8' ? 1e8 : shard.count, timeoutMs: 120_000 });
          if (!ack.ok) outcomes.push(`r${task.round}:${ack.error.code}`);
          else {
            const closed = await client.roundClosed(task.round, 600_000);
            outcomes.push(`r${task.round}:${closed.refusal?.code ?? (closed.accepted ? 'accepted' : 'not accepted')}`);
          }
        }
      })());
    }
    // Polled once a second: the REST API's rate limit is per address.
    const deadline = Date.now() + 1_200_000;
    while ((await coordinator.api<{ state: string }>('GET', `/api/runs/${run.id}`)).state !== 'completed') {
      if (Date.now() > deadline) throw new Error(`run ${run.id} did not complete within 20 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 30_000))]);
  } finally {
    for (const c of honest) c.close();
    for (const c of independent) c.close();
  }
  const rounds = await coordinator.api<RoundRecord[]>('GET', `/api/runs/${run.id}/rounds`);
  const clients = await coordinator.api<{ id: string; label: string; clusterIndex: number | null }[]>('GET', `/api/runs/${run.id}/clients?all=true`)
    .catch(() => coordinator.api<{ id: string; label: string; clusterIndex: number | null }[]>('GET', `/api/runs/${run.id}/clients`));
  const last = rounds[rounds.length - 1] as RoundRecord;
  const accuracyOf = (tier: string) => {
    const cluster = clients.find((c) => c.label.startsWith(`${tier}-`))?.clusterIndex;
    return last.clusters.find((c) => c.clusterIndex === cluster)?.accuracy ?? NaN;
  };
  const attackerIds = clients.filter((c) => c.label.startsWith('attacker-')).map((c) => c.id);
  const saved = scanSavedModels(coordinator.dataDir, run.id);
  return {
    runId: run.id, rounds, tierAccuracy: { fast: accuracyOf('fast'), slow: accuracyOf('slow') }, honestRefusals, attackerOutcomes: outcomes, attackerIds,
    nonFiniteFiles: saved.nonFinite, savedFiles: saved.files, warnLines: coordinator.log.filter((l) => l.includes(run.id)), seconds: (Date.now() - t0) / 1000,
  };
}

/** One line per round of what the safeguards did, for the drill's output. */
export function describeIncidents(result: ScenarioResult): string[] {
  const changes = result.rounds.map((r) => `round ${r.round} change/limit: ${r.clusters.map((c) => `c${c.clusterIndex} ${((c.modelChange ?? NaN) / (c.maxChange ?? NaN)).toFixed(3)}`).join(' ')}`);
  return [...changes, ...incidentLines(result)];
}

function incidentLines(result: ScenarioResult): string[] {
  return result.rounds.map((r) => `round ${r.round}: ${(r.incidents ?? []).map((i) => `${i.kind}(c${i.clusterIndex}${i.clientId ? ` ${i.clientId}` : ''}${i.code ? ` ${i.code}` : ''})`).join(', ') || 'none'}`);
}
