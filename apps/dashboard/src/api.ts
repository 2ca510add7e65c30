/** REST calls with the admin token, and file downloads that need it (links cannot carry headers). */
import type { DeviceToken, NewDeviceToken, RunSummary, TaskSummary } from '@fedtsa/protocol/dashboard';

// The wire shapes live in the protocol package; the device-token panel imports them with the Api.
export type { DeviceToken, NewDeviceToken, TaskSummary };

/** GET /api/server-info (apps/coordinator/src/routes/server-info.ts): where phones join, and the certificate served. */
export interface ServerInfo {
  publicUrl: string | null;
  tls: { fingerprint256: string; selfSigned: boolean } | null;
}


export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string, private readonly base = location.origin) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      const err = await res.json().catch(() => ({})) as { code?: string; message?: string };
      throw new ApiError(res.status, err.code ?? `HTTP_${res.status}`, err.message ?? res.statusText);
    }
    return res.headers.get('content-type')?.includes('json') ? await res.json() as T : await res.text() as T;
  }

  listRuns(): Promise<RunSummary[]> {
    return this.request('GET', '/api/runs');
  }

  control(runId: string, action: 'start' | 'pause' | 'resume' | 'stop'): Promise<RunSummary> {
    return this.request('POST', `/api/runs/${encodeURIComponent(runId)}/${action}`);
  }

  createRun(name: string, settings: Record<string, unknown>, start: boolean): Promise<RunSummary> {
    return this.request('POST', '/api/runs', { name, settings, start });
  }

  createDeviceTokens(runId: string, count: number, label: string): Promise<{ runId: string; joinMode: string; tokens: NewDeviceToken[] }> {
    return this.request('POST', `/api/runs/${encodeURIComponent(runId)}/device-tokens`, label ? { count, label } : { count });
  }

  listDeviceTokens(runId: string): Promise<DeviceToken[]> {
    return this.request('GET', `/api/runs/${encodeURIComponent(runId)}/device-tokens`);
  }

  revokeDeviceToken(runId: string, id: string): Promise<DeviceToken> {
    return this.request('DELETE', `/api/runs/${encodeURIComponent(runId)}/device-tokens/${encodeURIComponent(id)}`);
  }

  serverInfo(): Promise<ServerInfo> {
    return this.request('GET', '/api/server-info');
  }

  listTasks(): Promise<TaskSummary[]> {
    return this.request('GET', '/api/tasks');
  }

  /** `dir` is relative to the coordinator's --data-root; a folder outside it is refused. */
  registerTask(dir: string, name?: string): Promise<TaskSummary> {
    return this.request('POST', '/api/tasks', name ? { dir, name } : { dir });
  }

  settingsSchema(): Promise<JsonSchema> {
    return this.request('GET', '/api/settings-schema');
  }

  private async bytes(path: string): Promise<ArrayBuffer> {
    const res = await fetch(`${this.base}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `${path}: ${res.statusText}`);
    return res.arrayBuffer();
  }

  async downloadCsv(runId: string): Promise<void> {
    const csv = await this.bytes(`/api/runs/${encodeURIComponent(runId)}/metrics.csv`);
    saveBlob(new Blob([csv], { type: 'text/csv' }), `${runId}-metrics.csv`);
  }

  /**
   * A cluster's model as two files, model.json and its weights, renamed per cluster; the
   * manifest is rewritten to the new weights name so tf.loadLayersModel still finds it.
   */
  async downloadModel(runId: string, clusterIndex: number): Promise<void> {
    const base = `/api/runs/${encodeURIComponent(runId)}/clusters/${clusterIndex}`;
    const [modelJson, weights] = await Promise.all([this.bytes(`${base}/model.json`), this.bytes(`${base}/weights.bin`)]);
    const name = `${runId}-cluster${clusterIndex}`;
    const model = JSON.parse(new TextDecoder().decode(modelJson)) as { weightsManifest?: { paths: string[] }[] };
    for (const group of model.weightsManifest ?? []) group.paths = [`${name}.weights.bin`];
    saveBlob(new Blob([JSON.stringify(model)], { type: 'application/json' }), `${name}.json`);
    saveBlob(new Blob([weights], { type: 'application/octet-stream' }), `${name}.weights.bin`);
  }
}

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  description?: string;
}

function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
