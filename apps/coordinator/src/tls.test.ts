import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localNames, readTlsFiles, selfSignedTls } from './tls.ts';

describe('the self-signed certificate', () => {
  it('is made once for the given names, kept private, and reused with the same fingerprint', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedtsa-tls-')), 'tls');
    const first = selfSignedTls(dir, ['localhost', '127.0.0.1', 'fedtsa.test', '192.0.2.10']);
    expect(first.source).toBe('self-signed-new');
    const cert = new X509Certificate(first.cert);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:fedtsa.test, IP Address:192.0.2.10');
    expect(cert.ca).toBe(false);
    expect(cert.checkPrivateKey(createPrivateKey(first.key))).toBe(true);
    // The fingerprint a browser shows is openssl's SHA-256 over the DER certificate.
    const openssl = execFileSync('openssl', ['x509', '-in', join(dir, 'cert.pem'), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
    expect(openssl.trim().split('=')[1]).toBe(first.fingerprint256);
    expect(statSync(join(dir, 'key.pem')).mode & 0o077).toBe(0);
    const again = selfSignedTls(dir, ['other.name']);
    expect(again).toMatchObject({ source: 'self-signed-reused', fingerprint256: first.fingerprint256, key: first.key });
  });

  it('names localhost, loopback and the public URL\'s host', () => {
    const names = localNames('https://fedtsa.example.org:8443');
    expect(names).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', 'fedtsa.example.org']));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('readTlsFiles', () => {
  it('reads the pair and names the flag and file that fail', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'fedtsa-tls-')), 'tls');
    const made = selfSignedTls(dir, ['localhost']);
    const read = readTlsFiles(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    expect(read).toMatchObject({ source: 'files', fingerprint256: made.fingerprint256, key: readFileSync(join(dir, 'key.pem'), 'utf8') });
    expect(() => readTlsFiles(join(dir, 'missing.pem'), join(dir, 'key.pem'))).toThrow(/--tls-cert .*missing\.pem/);
    expect(() => readTlsFiles(join(dir, 'cert.pem'), join(dir, 'nope.pem'))).toThrow(/--tls-key .*nope\.pem/);
    expect(() => readTlsFiles(join(dir, 'key.pem'), join(dir, 'key.pem'))).toThrow(/key\.pem is not a PEM certificate/);
  });
});
