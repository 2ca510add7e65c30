/**
 * The coordinator as a plain object graph: store, aggregation worker, runs, Fastify routes
 * and socket.io namespaces. server.ts owns the process (listen, signals, logging setup);
 * tests build this on port 0 and talk to it with real clients.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { Server } from 'socket.io';
import type { ModelSpec } from '@fedtsa/core/architecture';
import { useBackend } from '@fedtsa/core/backend';
import type { LabelledImages } from '@fedtsa/core/data/dataset';
import { FASHION_MNIST_TASK, taskSpec } from '@fedtsa/core/task';
import { defaultGeneratorDir } from '@fedtsa/node-io/generator-fit';
import { protocolError } from '@fedtsa/protocol/errors';
import { CLIENT_NAMESPACE, DASHBOARD_NAMESPACE, type ClientSocketData, type ClientToServerEvents, type InterServerEvents, type ServerToClientEvents } from '@fedtsa/protocol/events';
import { bearer, setUpAdminToken, type AdminAuth } from './admin-token.ts';
import { compileTrustProxy, noteClientAddress } from './client-address.ts';
import type { CoordinatorConfig } from './config.ts';
import { registerDeviceTokenRoutes } from './routes/device-tokens.ts';
import { registerModelRoutes } from './routes/models.ts';
import { registerProgressRoute } from './routes/progress.ts';
import { registerRunRoutes } from './routes/runs.ts';
import { registerServerInfoRoute } from './routes/server-info.ts';
import { registerTaskRoutes } from './routes/tasks.ts';
import { frameworkErrors, installStrictErrors, refuseUnknownQuery, STRICT_AJV } from './routes/strict.ts';
import { WorkerServerWork } from './runs/server-work.ts';
import { RunEvents } from './runs/run-events.ts';
import { RunRegistry } from './runs/run-registry.ts';
import { attachClientNamespace, type ClientNamespace } from './sockets/client-namespace.ts';
import { attachDashboardNamespace } from './sockets/dashboard-namespace.ts';
import { SqliteStore } from './store/sqlite-store.ts';
import { TaskCatalog, type TaskLoader } from './tasks/task-catalog.ts';
import type { TlsMaterial } from './tls.ts';

/** The built-in task's model (Fashion-MNIST): the spec of the demo and of runs that name no task. */
export const SPEC: ModelSpec = taskSpec(FASHION_MNIST_TASK);

export interface AppOptions {
  config: CoordinatorConfig;
  /** Training and test data of the built-in task (Fashion-MNIST). */
  data: { train: LabelledImages; test: LabelledImages };
  /**
   * Tasks from folders: `load` reads one (node-io), `dataRoot` confines them (--data-root),
   * `dirs` are registered at start (--task). Without `load`, only the built-in task exists.
   */
  tasks?: { load?: TaskLoader; dataRoot?: string; dirs?: string[] };
  demo?: { shards: number; samplesPerShard: number; alpha: number; seed: number };
  /** What server.ts settled for the process: TLS, the log destination. Tests may leave it out (plain HTTP, JSON logs). */
  serving?: { tls?: TlsMaterial; logDestination?: { write(line: string): void } };
  /** The server's heavy steps (runs/server-work.ts): how long a close may wait for its round's synthetic pool (10 s by default). */
  serverWork?: { poolWaitMs?: number };
}

export interface Coordinator {
  app: FastifyInstance;
  io: Server;
  registry: RunRegistry;
  store: SqliteStore;
  admin: AdminAuth;
  close(): Promise<void>;
}

export async function buildCoordinator(options: AppOptions): Promise<Coordinator> {
  const { config } = options;
  await useBackend('wasm');
  const { tls, logDestination } = options.serving ?? {};
  const trustProxy = compileTrustProxy(config.trustProxy);
  const app = Fastify({
    logger: { level: config.logLevel, ...(logDestination ? { stream: logDestination } : {}) }, bodyLimit: 1 << 20,
    // X-Forwarded-For counts only from the configured proxies; the sockets use the same rule (client-address.ts).
    trustProxy: trustProxy ?? false,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    // Bodies are checked as sent: no coercion, unknown fields refused, no defaults filled in (routes/strict.ts).
    ajv: STRICT_AJV,
    // What Fastify refuses before routing (a malformed percent-encoding, an over-long path parameter) carries a code too.
    frameworkErrors,
  });
  const store = new SqliteStore(config.dataDir, { clientGraceMs: config.clientGraceMs });
  const admin = setUpAdminToken(config.dataDir, config.adminToken);
  const serverWork = await WorkerServerWork.start({ dataDir: config.dataDir, poolWaitMs: options.serverWork?.poolWaitMs });
  const taskOptions = options.tasks ?? {};
  const pendingTasks: Promise<void>[] = [];
  const tasks = new TaskCatalog([{ task: FASHION_MNIST_TASK, train: options.data.train, test: options.data.test, source: 'built-in', generatorDir: config.generatorDir }], {
    dataRoot: taskOptions.dataRoot, load: taskOptions.load, registrations: store,
    demo: options.demo ?? { shards: 24, samplesPerShard: 300, alpha: config.demoAlpha, seed: 1 },
    onTask: (e) => pendingTasks.push(serverWork.addTask(e.task.name, taskSpec(e.task), e.test, e.generatorDir)),
    generatorFor: (name) => defaultGeneratorDir(name, config.generatorsRoot),
  });
  for (const dir of taskOptions.dirs ?? []) await tasks.register(dir, undefined, { save: false, confine: false }).catch((err: Error) => { throw new Error(`--task ${dir}: ${err.message}`); });
  await tasks.loadRegistered((message) => app.log.warn(message));
  await Promise.all(pendingTasks);
  // The widest model of the tasks known at start bounds every message (a larger task registered later is refused).
  const maxUploadParameters = tasks.fixUploadLimit();

  // Engines report what the dashboard shows changing into this hub; the dashboard namespace listens.
  const runEvents = new RunEvents();
  let connectedClients = (): number => 0;
  const registry = new RunRegistry(store, serverWork, tasks, {
    changes: runEvents,
    log: (level, message, extra) => app.log[level](extra ?? {}, message),
  });

  await app.register(rateLimit, { max: config.httpPerMinute, timeWindow: '1 minute' });
  // Every error and unknown route answers { code, message } in our words; details go to the log.
  installStrictErrors(app);
  // A query parameter an /api route does not take is refused, not ignored (routes/strict.ts).
  app.addHook('preValidation', refuseUnknownQuery);
  app.get('/api/health', async () => ({ ok: true, runs: registry.list().length }));
  // A participant's view of its run (its own client id and secret, not the admin token).
  registerProgressRoute(app, registry, store);
  if (existsSync(config.clientDir)) {
    await app.register(fastifyStatic, { root: config.clientDir, prefix: '/' });
  } else {
    app.log.warn(`no browser client in ${config.clientDir} (npm run build makes it); serving the API only`);
  }
  if (existsSync(config.dashboardDir)) {
    await app.register(fastifyStatic, { root: config.dashboardDir, prefix: '/dashboard/', decorateReply: false });
    app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  } else {
    app.log.warn(`no dashboard in ${config.dashboardDir} (npm run build makes it)`);
  }
  await app.register(async (admin_) => {
    admin_.addHook('onRequest', async (req, reply) => {
      if (!admin.check(bearer(req.headers.authorization))) return reply.code(401).send(protocolError('FEDTSA_ERR_UNAUTHORIZED'));
    });
    registerRunRoutes(admin_, registry, store);
    registerDeviceTokenRoutes(admin_, registry, store);
    registerModelRoutes(admin_, registry);
    registerTaskRoutes(admin_, tasks);
    registerServerInfoRoute(admin_, { publicUrl: config.publicUrl ?? null, tls: tls ? { fingerprint256: tls.fingerprint256, selfSigned: tls.source !== 'files' } : null });
    // The process's footprint, for operators and the fan-out benchmark. `?gc=1` collects garbage
    // first when node runs with --expose-gc, so that heap figures compare across moments.
    admin_.get('/api/process', async (req) => {
      const gc = (globalThis as { gc?: () => void }).gc;
      const collected = (req.query as { gc?: string }).gc === '1' && gc !== undefined;
      if (collected) gc();
      return { memory: process.memoryUsage(), gcCollected: collected, uptimeSec: process.uptime(), connectedClients: connectedClients() };
    });
  });

  // Large enough for the widest model in float32 plus framing; anything bigger is refused.
  const maxHttpBufferSize = Math.ceil(maxUploadParameters * 4 * 1.25) + (64 << 10);
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, ClientSocketData>(app.server, {
    maxHttpBufferSize, cors: { origin: true },
  });
  io.engine.use(noteClientAddress(trustProxy));
  connectedClients = () => io.of(CLIENT_NAMESPACE).sockets.size;
  attachClientNamespace(io.of(CLIENT_NAMESPACE) as ClientNamespace, registry, store, { eventsPerSecond: config.eventsPerSecond, identitiesPerMinute: config.identitiesPerMinute });
  const dashboard = attachDashboardNamespace(io.of(DASHBOARD_NAMESPACE), admin, registry, store, runEvents);
  registry.resumeRunning();

  return {
    app, io, registry, store, admin,
    async close() {
      // Dropping the sockets below marks their clients gone, which asks for a dashboard push; one
      // that ran after store.close() would throw from its timer. The dashboard stops listening first.
      dashboard.close();
      registry.dispose();
      io.close();
      await app.close();
      await serverWork.close();
      store.close();
    },
  };
}
