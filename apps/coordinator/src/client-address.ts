/**
 * Where a request came from, one rule for HTTP and sockets. Behind a reverse proxy every peer is
 * the proxy; its X-Forwarded-For names the client, but a client can write that header too. So
 * the header counts only through the proxies the operator names (--trust-proxy): the trust
 * function compiled here is handed to Fastify (request.ip, hence the HTTP rate limit and the
 * request logs) and used by the socket handshake (the identity cap), with the same
 * @fastify/proxy-addr that Fastify uses, so both always agree on a client's address.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type TrustProxy = (address: string, hop: number) => boolean;

/** The trust function for the configured proxies; undefined (trust no header) when none are. */
export function compileTrustProxy(proxies: string[] | undefined): TrustProxy | undefined {
  return proxies === undefined || proxies.length === 0 ? undefined : proxyAddr.compile(proxies);
}

/**
 * The client's address as Fastify's request.ip computes it with the same trust: the nearest
 * address in the chain (peer, then X-Forwarded-For from right to left) that is not a trusted proxy.
 */
export function requestAddress(req: IncomingMessage, trust: TrustProxy | undefined): string {
  if (!trust) return req.socket.remoteAddress ?? '';
  const chain = proxyAddr.all(req, trust);
  return chain[chain.length - 1] ?? '';
}

const resolved = new WeakMap<IncomingMessage, string>();

/**
 * An engine.io middleware (io.engine.use) that notes each handshake request's client address,
 * for the socket namespaces to read with `handshakeAddress`.
 */
export function noteClientAddress(trust: TrustProxy | undefined) {
  return (req: IncomingMessage, _res: unknown, next: (err?: Error) => void): void => {
    resolved.set(req, requestAddress(req, trust));
    next();
  };
}

/** The address noted for a socket's handshake request, or undefined when no middleware saw it. */
export function handshakeAddress(req: IncomingMessage): string | undefined {
  return resolved.get(req);
}
