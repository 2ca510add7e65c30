/**
 * The coordinator's certificate: the operator's PEM files (--tls-cert, --tls-key), or for a LAN
 * demo one made with Debian's openssl at first start and kept in DATA_DIR/tls (--tls self-signed).
 *
 * Why self-signed for the demo (README, "Phones and HTTPS"): a phone accepts it after one
 * "Advanced, proceed" tap, and the page is then a secure context (WebGPU, wake lock,
 * crypto.subtle). A local CA (Caddy's) would avoid the warning, but only after its root is
 * installed on every phone, which takes many more steps than a demo allows. The SHA-256
 * fingerprint, printed in the terminal and shown beside the dashboard's QR code, lets a careful
 * user check the certificate their browser shows before proceeding.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { isIP } from 'node:net';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 of the leaf certificate (DER), as browsers show it: "AB:CD:…". */
  fingerprint256: string;
  /** Where it came from: the operator's files, or self-signed (made now or reused). */
  source: 'files' | 'self-signed-new' | 'self-signed-reused';
  certFile: string;
}

/** Reads the PEM pair, naming the file and the flag in any error. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  const cert = read(certFile, '--tls-cert');
  const key = read(keyFile, '--tls-key');
  return { cert, key, fingerprint256: fingerprintOf(cert, certFile), source: 'files', certFile };
}

/**
 * The self-signed certificate in `dir` (cert.pem, key.pem), made by openssl when absent and
 * reused on later starts, so phones that accepted it once are not asked again. Delete the
 * folder to make a new one (for instance after the machine's LAN address changed).
 */
export function selfSignedTls(dir: string, names: string[]): TlsMaterial {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const reused = existsSync(certFile) && existsSync(keyFile);
  if (!reused) makeSelfSigned(certFile, keyFile, names);
  const cert = readFileSync(certFile, 'utf8');
  return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: fingerprintOf(cert, certFile), source: reused ? 'self-signed-reused' : 'self-signed-new', certFile };
}

/** An EC P-256 key and a certificate for `names` (DNS names and IP addresses), valid 825 days. */
export function makeSelfSigned(certFile: string, keyFile: string, names: string[]): void {
  if (names.length === 0) throw new Error('makeSelfSigned: at least one name is needed for the certificate');
  mkdirSync(dirname(certFile), { recursive: true, mode: 0o700 });
  const san = [...new Set(names)].map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '825',
      '-subj', '/CN=fedtsa coordinator', '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
      '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    chmodSync(keyFile, 0o600);
  } catch (err) {
    const e = err as Error & { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('--tls self-signed needs the openssl command (Debian: apt-get install openssl)');
    throw new Error(`openssl could not make a certificate: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/** The names a LAN demo is reached by: localhost, this machine's name and its addresses, and the public URL's host. */
export function localNames(publicUrl?: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname()];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80:')) names.push(a.address);
  }
  if (publicUrl) names.push(new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''));
  return [...new Set(names)];
}

function fingerprintOf(pem: string, file: string): string {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch (err) {
    throw new Error(`${file} is not a PEM certificate: ${(err as Error).message}`);
  }
}
