/** Coordinator configuration: CLI flags override environment variables override defaults. */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface CoordinatorConfig {
  /** FEDTSA_HOST; default 127.0.0.1 (set 0.0.0.0 to accept phones on the LAN). */
  host: string;
  /** FEDTSA_PORT; 0 picks a free port. Default 8080. */
  port: number;
  /** FEDTSA_DATA_DIR: SQLite database and model checkpoints. Default .data */
  dataDir: string;
  /** FEDTSA_ADMIN_TOKEN; when absent one is generated on first start and printed once. */
  adminToken?: string;
  /** FEDTSA_GENERATOR_DIR: Stage 2's generator checkpoint. Default checkpoints/fmnist-ddpm */
  generatorDir: string;
  /** FEDTSA_DATASET_DIR: Fashion-MNIST IDX files for demo shards and evaluation. */
  datasetDir?: string;
  /** FEDTSA_CLIENT_DIR: the built browser client served at /. Default apps/browser-client/dist */
  clientDir: string;
  /** FEDTSA_DASHBOARD_DIR: the built dashboard served at /dashboard/. Default apps/dashboard/dist */
  dashboardDir: string;
  /** FEDTSA_DEMO_ALPHA: Dirichlet concentration of the demo shards' labels; small = very non-IID. Default 0.5 */
  demoAlpha: number;
  /** Create a demo run on start when there is none (--demo). */
  demo: boolean;
  /** Start this many virtual clients against the demo run (--virtual-clients). */
  virtualClients: number;
  /** FEDTSA_LOG_LEVEL: fatal | error | warn | info | debug. Default info */
  logLevel: string;
  /** Socket events per second per client before FEDTSA_ERR_RATE_LIMITED. Default 20 */
  eventsPerSecond: number;
  /** HTTP requests per minute per address on /api. Default 300 */
  httpPerMinute: number;
  /** FEDTSA_IDENTITIES_PER_MINUTE: new client identities per address and minute before FEDTSA_ERR_IDENTITY_LIMIT. Default 30 */
  identitiesPerMinute: number;
  /** FEDTSA_CLIENT_GRACE_MS: how long a client that left or disconnected stays in the runs' live client lists. Default 5 minutes */
  clientGraceMs: number;
}

export const DEFAULT_CONFIG: CoordinatorConfig = {
  host: '127.0.0.1', port: 8080, dataDir: '.data', generatorDir: 'checkpoints/fmnist-ddpm', demo: false,
  clientDir: fileURLToPath(new URL('../../browser-client/dist', import.meta.url)),
  dashboardDir: fileURLToPath(new URL('../../dashboard/dist', import.meta.url)), virtualClients: 0,
  logLevel: 'info', eventsPerSecond: 20, httpPerMinute: 300, demoAlpha: 0.5, identitiesPerMinute: 30, clientGraceMs: 5 * 60_000,
};

export const USAGE = `usage: fedtsa-coordinator [options]
  --host H             FEDTSA_HOST (default 127.0.0.1)
  --port N             FEDTSA_PORT (default 8080; 0 = any free port)
  --data-dir DIR       FEDTSA_DATA_DIR (default .data)
  --admin-token T      FEDTSA_ADMIN_TOKEN (default: generated once, printed once)
  --generator DIR      FEDTSA_GENERATOR_DIR (default checkpoints/fmnist-ddpm)
  --dataset-dir DIR    FEDTSA_DATASET_DIR (default /usr/share/datasets/fashion-mnist)
  --client-dir DIR     FEDTSA_CLIENT_DIR: the built browser client (default apps/browser-client/dist)
  --dashboard-dir DIR  FEDTSA_DASHBOARD_DIR: the built dashboard (default apps/dashboard/dist)
  --demo-alpha A       FEDTSA_DEMO_ALPHA: label skew of the demo shards (Dirichlet; default 0.5, 100 = nearly IID)
  --demo               create a demo run if there is none
  --virtual-clients N  start N virtual clients on the demo run
  --identities-per-minute N  FEDTSA_IDENTITIES_PER_MINUTE: new client identities per address and minute (default 30)
  --client-grace-ms MS FEDTSA_CLIENT_GRACE_MS: how long departed clients stay listed as live (default 300000)
  --log-level L        FEDTSA_LOG_LEVEL (default info)`;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-token': { type: 'string' },
      generator: { type: 'string' }, 'dataset-dir': { type: 'string' }, 'client-dir': { type: 'string' }, 'dashboard-dir': { type: 'string' }, 'demo-alpha': { type: 'string' }, demo: { type: 'boolean' }, 'virtual-clients': { type: 'string' },
      'identities-per-minute': { type: 'string' }, 'client-grace-ms': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, fallback: number): number => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
  const positive = (name: string, v: string | undefined, fallback: number): number => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name} must be a positive number, got '${v}'`);
    return n;
  };
  const positiveInt = (name: string, v: string | undefined, fallback: number): number => {
    const n = int(name, v, fallback);
    if (n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
  return {
    host: values.host ?? env.FEDTSA_HOST ?? DEFAULT_CONFIG.host,
    port: int('--port', values.port ?? env.FEDTSA_PORT, DEFAULT_CONFIG.port),
    dataDir: values['data-dir'] ?? env.FEDTSA_DATA_DIR ?? DEFAULT_CONFIG.dataDir,
    adminToken: values['admin-token'] ?? env.FEDTSA_ADMIN_TOKEN,
    generatorDir: values.generator ?? env.FEDTSA_GENERATOR_DIR ?? DEFAULT_CONFIG.generatorDir,
    datasetDir: values['dataset-dir'] ?? env.FEDTSA_DATASET_DIR,
    clientDir: values['client-dir'] ?? env.FEDTSA_CLIENT_DIR ?? DEFAULT_CONFIG.clientDir,
    dashboardDir: values['dashboard-dir'] ?? env.FEDTSA_DASHBOARD_DIR ?? DEFAULT_CONFIG.dashboardDir,
    demoAlpha: positive('--demo-alpha', values['demo-alpha'] ?? env.FEDTSA_DEMO_ALPHA, DEFAULT_CONFIG.demoAlpha),
    demo: values.demo ?? DEFAULT_CONFIG.demo,
    virtualClients: int('--virtual-clients', values['virtual-clients'], DEFAULT_CONFIG.virtualClients),
    logLevel: values['log-level'] ?? env.FEDTSA_LOG_LEVEL ?? DEFAULT_CONFIG.logLevel,
    eventsPerSecond: DEFAULT_CONFIG.eventsPerSecond,
    httpPerMinute: DEFAULT_CONFIG.httpPerMinute,
    identitiesPerMinute: positiveInt('--identities-per-minute', values['identities-per-minute'] ?? env.FEDTSA_IDENTITIES_PER_MINUTE, DEFAULT_CONFIG.identitiesPerMinute),
    clientGraceMs: int('--client-grace-ms', values['client-grace-ms'] ?? env.FEDTSA_CLIENT_GRACE_MS, DEFAULT_CONFIG.clientGraceMs),
  };
}
