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
import { detectTaskSource, loadTaskData } from '@fedtsa/node-io/datasets/task-data';
import { buildCoordinator, type Coordinator } from './app.ts';
import { loadConfig, USAGE } from './config.ts';
import { chooseLogFormat, prettyDestination } from './log-format.ts';
import { localNames, readTlsFiles, selfSignedTls, type TlsMaterial } from './tls.ts';
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
// Pretty lines for a person at a terminal, JSON lines for a log collector (log-format.ts).
const logFormat = chooseLogFormat(config.logFormat, process.stdout.isTTY === true);
let tls: TlsMaterial | undefined;
try {
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) tls = readTlsFiles(config.tlsCert, config.tlsKey);
  else if (config.tlsSelfSigned) tls = selfSignedTls(join(config.dataDir, 'tls'), localNames(config.publicUrl));
} catch (err) {
  console.error(`fedtsa coordinator: ${(err as Error).message}`);
  process.exit(2);
}
const { train, test } = loadFashionMnist(config.datasetDir);
let coordinator: Coordinator;
try {
  coordinator = await buildCoordinator({
    config, data: { train, test },
    // Tasks from folders: node-io's loaders pick IDX or image folders by their contents.
    tasks: {
      load: (dir, name) => {
        const loaded = loadTaskData(detectTaskSource(dir, { name }));
        for (const note of loaded.notes) console.log(`  task '${loaded.task.name}': ${note}`);
        return loaded;
      },
      dataRoot: config.dataRoot, dirs: config.tasks,
    },
    serving: { tls, logDestination: logFormat === 'pretty' ? prettyDestination(process.stdout, process.stdout.isTTY === true) : undefined },
  });
} catch (err) {
  // A data folder it cannot open (a newer schema, a damaged file) is the operator's to fix: say why, without a stack.
  console.error(`fedtsa coordinator: ${(err as Error).message}`);
  process.exit(2);
}
const address = await coordinator.app.listen({ host: config.host, port: config.port });
const log = coordinator.app.log;
/** Where phones and browsers are sent: the public URL when set, else the address listened on. */
const base = config.publicUrl ?? address;

/** A line for the operator: indented text on a terminal; under JSON, a log entry so that stdout stays JSON. */
function tell(text: string, fields: Record<string, unknown> = {}): void {
  if (logFormat === 'json') log.info(fields, text);
  else console.log(`  ${text}`);
}

if (!existsSync(config.generatorDir)) {
  log.warn(`Stage 2 is off: no generator checkpoint in ${config.generatorDir} (npm run train-generator makes one)`);
}
if (coordinator.admin.generated) {
  // Printed once: only its hash is kept.
  tell(`Admin token (shown once, keep it): ${coordinator.admin.generated}`, { adminToken: coordinator.admin.generated });
}
if (tls) {
  const made = tls.source === 'self-signed-new' ? `made a self-signed certificate in ${tls.certFile}` : `certificate ${tls.certFile}`;
  tell(`HTTPS on ${address}: ${made}`, { certFile: tls.certFile, tlsSource: tls.source });
  tell(`Certificate SHA-256 fingerprint (compare it with the one the phone shows): ${tls.fingerprint256}`, { fingerprint256: tls.fingerprint256 });
} else if (config.host !== '127.0.0.1' && config.host !== 'localhost' && !config.publicUrl?.startsWith('https:')) {
  tell('Plain HTTP beyond this machine: phones get no WebGPU, wake lock or Web Crypto (start with --tls self-signed; see README, "Phones and HTTPS")');
}

const children: ChildProcess[] = [];
if (config.demo) {
  let engine = coordinator.registry.list().find((e) => e.record.name === 'demo' && e.record.settings.task === config.demoTask && e.record.state !== 'stopped' && e.record.state !== 'completed');
  if (!engine && !coordinator.registry.tasks.get(config.demoTask)) {
    console.error(`fedtsa coordinator: --demo-task ${config.demoTask}: no such task; this coordinator has ${coordinator.registry.tasks.list().map((t) => t.name).join(', ')} (register a folder with --task DIR)`);
    await coordinator.close();
    process.exit(2);
  }
  if (!engine) {
    engine = coordinator.registry.create('demo', {
      // Stage 2 at its defaults: the generation worker makes the pool in the background from now on (runs/server-work.ts),
      // so round 1 closes with the part made by then (or without Stage 2), and later rounds find their refreshes made.
      task: config.demoTask, rounds: config.demoRounds, roundDeadlineMs: 120_000, minClientsToStart: Math.max(2, config.virtualClients), minClientsPerCluster: 2,
    });
  }
  if (engine.record.state !== 'running') engine.start();
  const run = engine.record;
  const joinUrl = `${base}/?run=${run.id}&token=${run.joinToken}`;
  tell(`Demo run ${run.id}: join token ${run.joinToken}`, { runId: run.id });
  tell(`Join from a browser: ${joinUrl}`, { joinUrl });
  tell(`Dashboard: ${base}/dashboard/#token=${config.adminToken ?? '(the admin token)'}`, { dashboardUrl: `${base}/dashboard/` });
  tell(`API: ${base}  (metrics: ${base}/api/runs/${run.id}/metrics with the admin token)`, { apiUrl: base });
  if (engine.poolProgress) {
    const s2 = run.settings.stage2;
    tell(`Stage 2's synthetic pool (${s2.poolSize} images, ${s2.sampleSteps} DDIM steps) is made in the background into ${join(config.dataDir, 'pools')}, or read back from there where an earlier run made it (progress on the dashboard); rounds run Stage 1 only until it holds two mutual-learning batches`, { poolSize: s2.poolSize });
  }
  // The virtual clients take as long as devices of their speed would (--emulate-speed), so the demo's rounds last what real ones do and
  // the background pool grows between them: on a first start Stage 2 joins once the pool holds two batches, later starts find it made.
  const tiers = [{ label: 'fast', speed: 1500 }, { label: 'slow', speed: 40 }];
  tiers.forEach((tier, i) => {
    const count = Math.floor(config.virtualClients / tiers.length) + (i < config.virtualClients % tiers.length ? 1 : 0);
    if (count === 0) return;
    const cli = fileURLToPath(new URL('./virtual-client/cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--url', address, '--run', run.id, `--token=${run.joinToken}`,
      '--count', String(count), '--speed', String(tier.speed), '--emulate-speed', '--label', tier.label], {
      stdio: ['ignore', 'inherit', 'inherit'],
      // A self-signed certificate is its own root: the virtual clients trust it and nothing else.
      env: tls && tls.source !== 'files' ? { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile } : process.env,
    });
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
