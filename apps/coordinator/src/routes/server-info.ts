/**
 * GET /api/server-info (admin): what the dashboard needs to hand phones the right link. The
 * address they use (--public-url, when the page's own origin is not it, e.g. behind a proxy or
 * with a LAN address) and the certificate's SHA-256 fingerprint, shown beside the QR code so
 * that a phone's user can check a self-signed certificate before accepting it.
 */
import type { FastifyInstance } from 'fastify';

export interface ServerInfo {
  /** The base of join links; null: the dashboard uses its own origin. */
  publicUrl: string | null;
  /** The served certificate, when the coordinator speaks HTTPS itself. */
  tls: { fingerprint256: string; selfSigned: boolean } | null;
}

export function registerServerInfoRoute(app: FastifyInstance, info: ServerInfo): void {
  app.get('/api/server-info', async (): Promise<ServerInfo> => info);
}
