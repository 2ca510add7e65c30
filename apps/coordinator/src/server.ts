/**
 * The coordinator process: configuration, listen, graceful shutdown, and for the demo a run
 * plus virtual clients in child processes.
 *
 *   npm run coordinator -- --demo --virtual-clients 6
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFashionMnist } from '@fedtsa/node-io/fashion-mnist';
import { buildCoordinator, type Coordinator } from './app.ts';
import { loadConfig, USAGE } from './config.ts';
import { randomToken } from './runs/run-registry.ts';

let config;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (config.demo && !config.adminToken) {
  // The demo keeps its admin token in the data folder (0600) so that every start can print
  // the dashboard link. A real deployment passes FEDTSA_ADMIN_TOKEN, or keeps only a hash.
  const file = join(config.dataDir, 'demo-admin-token');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, randomToken(24), { mode: 0o600 });
  }
  config.adminToken = readFileSync(file, 'utf8').trim();
}
const { train, test } = loadFashionMnist(config.datasetDir);
let coordinator: Coordinator;
try {
  coordinator = await buildCoordinator({ config, data: { train, test } });
} catch (err) {
  // A data folder it cannot open (a newer schema, a damaged file) is the operator's to fix: say why, without a stack.
  console.error(`fedtsa coordinator: ${(err as Error).message}`);
  process.exit(2);
}
const address = await coordinator.app.listen({ host: config.host, port: config.port });
const log = coordinator.app.log;

if (!existsSync(config.generatorDir)) {
  log.warn(`Stage 2 is off: no generator checkpoint in ${config.generatorDir} (npm run train-generator makes one)`);
}
if (coordinator.admin.generated) {
  // Printed once: only its hash is kept.
  console.log(`\n  Admin token (shown once, keep it): ${coordinator.admin.generated}\n`);
}

const children: ChildProcess[] = [];
if (config.demo) {
  let engine = coordinator.registry.list().find((e) => e.record.name === 'demo' && e.record.state !== 'stopped' && e.record.state !== 'completed');
  if (!engine) {
    engine = coordinator.registry.create('demo', {
      rounds: 10, roundDeadlineMs: 120_000, minClientsToStart: Math.max(2, config.virtualClients), minClientsPerCluster: 2,
      // Small and quick on a CPU: 100 generated images at first, 10 new ones per round.
      stage2: { poolSize: 100, refreshFraction: 0.1, sampleSteps: 10, steps: 20 },
    });
  }
  if (engine.record.state !== 'running') engine.start();
  const run = engine.record;
  console.log(`  Demo run ${run.id}: join token ${run.joinToken}`);
  console.log(`  Join from a browser: ${address}/?run=${run.id}&token=${run.joinToken}`);
  console.log(`  Dashboard: ${address}/dashboard/#token=${config.adminToken ?? '(the admin token)'}`);
  console.log(`  API: ${address}  (metrics: ${address}/api/runs/${run.id}/metrics with the admin token)\n`);
  const tiers = [{ label: 'fast', speed: 1500 }, { label: 'slow', speed: 40 }];
  tiers.forEach((tier, i) => {
    const count = Math.floor(config.virtualClients / tiers.length) + (i < config.virtualClients % tiers.length ? 1 : 0);
    if (count === 0) return;
    const cli = fileURLToPath(new URL('./virtual-client/cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--url', address, '--run', run.id, '--token', run.joinToken,
      '--count', String(count), '--speed', String(tier.speed), '--label', tier.label], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
  });
}

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log.info(`${signal}: shutting down`);
  for (const c of children) c.kill('SIGTERM');
  await coordinator.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
