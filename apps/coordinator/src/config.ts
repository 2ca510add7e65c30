/** Coordinator configuration: CLI flags override environment variables override defaults. */
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
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
  /** FEDTSA_GENERATOR_DIR: Stage 2's generator checkpoint for the built-in task. Default checkpoints/fmnist-ddpm */
  generatorDir: string;
  /** FEDTSA_GENERATORS: where a task's generator is looked for, as <root>/<task name>-ddpm. Default checkpoints */
  generatorsRoot: string;
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
  /** FEDTSA_TLS_CERT and FEDTSA_TLS_KEY: PEM files; with both the coordinator serves HTTPS (and wss). */
  tlsCert?: string;
  tlsKey?: string;
  /** FEDTSA_TLS=self-signed: serve HTTPS with a certificate made at first start and kept in the data folder (tls.ts). */
  tlsSelfSigned: boolean;
  /** FEDTSA_PUBLIC_URL: the address phones use (join links, QR codes), e.g. https://192.168.1.20:8443. Default: the page's own origin. */
  publicUrl?: string;
  /**
   * FEDTSA_TRUST_PROXY: the reverse proxies' addresses or CIDRs (or proxy-addr's names loopback,
   * linklocal, uniquelocal) whose X-Forwarded-For is believed. Absent: the socket's peer is the client.
   */
  trustProxy?: string[];
  /** FEDTSA_LOG_FORMAT: pretty lines, JSON lines, or auto (pretty on a terminal, JSON otherwise). Default auto */
  logFormat: LogFormatSetting;
  /** --task DIR (repeatable), FEDTSA_TASKS (comma-separated): IDX or image folders registered as tasks at start. */
  tasks: string[];
  /** FEDTSA_DATA_ROOT: the folder inside which POST /api/tasks may register datasets. Absent: no registration over REST. */
  dataRoot?: string;
  /** FEDTSA_DEMO_TASK: the task of the demo run (--demo). Default fashion-mnist */
  demoTask: string;
  /** --demo-rounds: rounds of the demo run. Default 10 */
  demoRounds: number;
}

export type LogFormatSetting = 'auto' | 'json' | 'pretty';

export const DEFAULT_CONFIG: CoordinatorConfig = {
  host: '127.0.0.1', port: 8080, dataDir: '.data', generatorDir: 'checkpoints/fmnist-ddpm', generatorsRoot: 'checkpoints', demo: false,
  clientDir: fileURLToPath(new URL('../../browser-client/dist', import.meta.url)),
  dashboardDir: fileURLToPath(new URL('../../dashboard/dist', import.meta.url)), virtualClients: 0,
  logLevel: 'info', eventsPerSecond: 20, httpPerMinute: 300, demoAlpha: 0.5, identitiesPerMinute: 30, clientGraceMs: 5 * 60_000,
  tlsSelfSigned: false, logFormat: 'auto', tasks: [], demoTask: 'fashion-mnist', demoRounds: 30,
};

export const USAGE = `usage: fedtsa-coordinator [options]
  --host H             FEDTSA_HOST (default 127.0.0.1)
  --port N             FEDTSA_PORT (default 8080; 0 = any free port)
  --data-dir DIR       FEDTSA_DATA_DIR (default .data)
  --admin-token T      FEDTSA_ADMIN_TOKEN (default: generated once, printed once)
  --generator DIR      FEDTSA_GENERATOR_DIR: the built-in task's generator (default checkpoints/fmnist-ddpm)
  --generators DIR     FEDTSA_GENERATORS: a task's generator is DIR/<task name>-ddpm (default checkpoints);
                       a task without a generator that fits it runs Stage 1 only
  --dataset-dir DIR    FEDTSA_DATASET_DIR (default /usr/share/datasets/fashion-mnist)
  --client-dir DIR     FEDTSA_CLIENT_DIR: the built browser client (default apps/browser-client/dist)
  --dashboard-dir DIR  FEDTSA_DASHBOARD_DIR: the built dashboard (default apps/dashboard/dist)
  --demo-alpha A       FEDTSA_DEMO_ALPHA: label skew of the demo shards (Dirichlet; default 0.5, 100 = nearly IID)
  --task DIR           FEDTSA_TASKS (comma-separated): register the IDX or image folder DIR as a task (repeatable;
                       make an example with npm run make-dataset); its name is the folder's
  --data-root DIR      FEDTSA_DATA_ROOT: folders under DIR may be registered as tasks over REST (POST /api/tasks)
  --demo-task NAME     FEDTSA_DEMO_TASK: the demo run's task (default fashion-mnist)
  --demo-rounds N      rounds of the demo run (default 10)
  --demo               create a demo run if there is none
  --virtual-clients N  start N virtual clients on the demo run
  --identities-per-minute N  FEDTSA_IDENTITIES_PER_MINUTE: new client identities per address and minute (default 30)
  --client-grace-ms MS FEDTSA_CLIENT_GRACE_MS: how long departed clients stay listed as live (default 300000)
  --log-level L        FEDTSA_LOG_LEVEL (default info)
  --log-format F       FEDTSA_LOG_FORMAT: pretty | json | auto (default auto: pretty on a terminal, JSON otherwise)
  --tls-cert FILE      FEDTSA_TLS_CERT: PEM certificate (chain); with --tls-key, serve HTTPS
  --tls-key FILE       FEDTSA_TLS_KEY: PEM private key of --tls-cert
  --tls self-signed    FEDTSA_TLS: serve HTTPS with a certificate made at first start in DATA_DIR/tls (fingerprint printed)
  --public-url URL     FEDTSA_PUBLIC_URL: the address phones use, for join links and QR codes (e.g. https://192.168.1.20:8080)
  --trust-proxy LIST   FEDTSA_TRUST_PROXY: comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For counts
                       (e.g. loopback, 10.0.0.2, 172.16.0.0/12); a hop count is refused (see docs/deploy.md)

Example, a task from a folder of images (one subfolder per class) with six virtual clients:
  npm run make-dataset -- --kind images --out data/shapes-images
  npm run coordinator -- --task data/shapes-images --demo --demo-task shapes-images --demo-rounds 30 --virtual-clients 6`;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, 'admin-token': { type: 'string' },
      generator: { type: 'string' }, generators: { type: 'string' }, 'dataset-dir': { type: 'string' }, 'client-dir': { type: 'string' }, 'dashboard-dir': { type: 'string' }, 'demo-alpha': { type: 'string' }, demo: { type: 'boolean' }, 'virtual-clients': { type: 'string' },
      'identities-per-minute': { type: 'string' }, 'client-grace-ms': { type: 'string' }, 'log-level': { type: 'string' }, help: { type: 'boolean' },
      'log-format': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, tls: { type: 'string' }, 'public-url': { type: 'string' },
      'trust-proxy': { type: 'string' }, task: { type: 'string', multiple: true }, 'data-root': { type: 'string' }, 'demo-task': { type: 'string' }, 'demo-rounds': { type: 'string' },
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
  const tlsCert = nonEmpty(values['tls-cert'] ?? env.FEDTSA_TLS_CERT);
  const tlsKey = nonEmpty(values['tls-key'] ?? env.FEDTSA_TLS_KEY);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together: give both files or neither');
  const tls = nonEmpty(values.tls ?? env.FEDTSA_TLS);
  if (tls !== undefined && tls !== 'self-signed') throw new Error(`--tls takes 'self-signed', got '${tls}'`);
  if (tls !== undefined && tlsCert !== undefined) throw new Error('--tls self-signed and --tls-cert/--tls-key exclude each other: choose one certificate');
  return {
    tasks: values.task ?? env.FEDTSA_TASKS?.split(',').map((t) => t.trim()).filter((t) => t !== '') ?? [],
    dataRoot: nonEmpty(values['data-root'] ?? env.FEDTSA_DATA_ROOT),
    demoTask: nonEmpty(values['demo-task'] ?? env.FEDTSA_DEMO_TASK) ?? DEFAULT_CONFIG.demoTask,
    demoRounds: positiveInt('--demo-rounds', values['demo-rounds'], DEFAULT_CONFIG.demoRounds),
    host: values.host ?? env.FEDTSA_HOST ?? DEFAULT_CONFIG.host,
    port: int('--port', values.port ?? env.FEDTSA_PORT, DEFAULT_CONFIG.port),
    dataDir: values['data-dir'] ?? env.FEDTSA_DATA_DIR ?? DEFAULT_CONFIG.dataDir,
    adminToken: values['admin-token'] ?? env.FEDTSA_ADMIN_TOKEN,
    generatorDir: values.generator ?? env.FEDTSA_GENERATOR_DIR ?? DEFAULT_CONFIG.generatorDir,
    generatorsRoot: values.generators ?? env.FEDTSA_GENERATORS ?? DEFAULT_CONFIG.generatorsRoot,
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
    tlsCert, tlsKey, tlsSelfSigned: tls === 'self-signed',
    publicUrl: parsePublicUrl(nonEmpty(values['public-url'] ?? env.FEDTSA_PUBLIC_URL)),
    trustProxy: parseTrustProxy(nonEmpty(values['trust-proxy'] ?? env.FEDTSA_TRUST_PROXY)),
    logFormat: parseLogFormat(nonEmpty(values['log-format'] ?? env.FEDTSA_LOG_FORMAT) ?? DEFAULT_CONFIG.logFormat),
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** An http(s) origin with an optional path, without a trailing slash: join links are `${publicUrl}/?run=…`. */
function parsePublicUrl(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new Error(`--public-url must be an absolute URL such as https://192.168.1.20:8080, got '${v}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`--public-url must be http:// or https://, got '${v}'`);
  if (url.search || url.hash) throw new Error(`--public-url takes no query or fragment, got '${v}'`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * The proxies to believe, as @fastify/proxy-addr's compile() takes them. A hop count is refused:
 * Fastify 5.12 disabled it (it cannot check the peer, so a client that reaches the coordinator
 * directly could forge X-Forwarded-For), and `true` would trust every peer the same way.
 */
function parseTrustProxy(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v) || v === 'true') {
    throw new Error(`--trust-proxy takes the proxies' addresses or CIDRs (e.g. loopback or 10.0.0.2), not '${v}': ` +
      'a hop count or true would let any client that reaches the coordinator directly forge its address');
  }
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const names = new Set(['loopback', 'linklocal', 'uniquelocal']);
  for (const item of list) {
    const [address, bits, extra] = item.split('/');
    const ok = names.has(item) || (extra === undefined && isIP(address ?? '') !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits)));
    if (!ok) throw new Error(`--trust-proxy: '${item}' is not an IP address, a CIDR or one of loopback, linklocal, uniquelocal`);
  }
  return list;
}

function parseLogFormat(v: string): LogFormatSetting {
  if (v === 'auto' || v === 'json' || v === 'pretty') return v;
  throw new Error(`--log-format takes pretty, json or auto, got '${v}'`);
}
