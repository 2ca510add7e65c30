import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig } from './config.ts';

describe('loadConfig: TLS, public URL, proxies and log format', () => {
  it('leaves them off by default', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ tlsSelfSigned: false, logFormat: 'auto' });
    expect([c.tlsCert, c.tlsKey, c.publicUrl, c.trustProxy]).toEqual([undefined, undefined, undefined, undefined]);
    expect(DEFAULT_CONFIG.logFormat).toBe('auto');
  });

  it('reads each from its flag, and from its variable when the flag is absent', () => {
    const env = { FEDTSA_TLS_CERT: 'env.crt', FEDTSA_TLS_KEY: 'env.key', FEDTSA_PUBLIC_URL: 'https://env.example:8443', FEDTSA_TRUST_PROXY: '10.0.0.2', FEDTSA_LOG_FORMAT: 'json' };
    expect(loadConfig([], env)).toMatchObject({ tlsCert: 'env.crt', tlsKey: 'env.key', publicUrl: 'https://env.example:8443', trustProxy: ['10.0.0.2'], logFormat: 'json' });
    const c = loadConfig(['--tls-cert', 'a.crt', '--tls-key', 'a.key', '--public-url', 'https://192.168.1.20:8080/', '--trust-proxy', 'loopback, 172.16.0.0/12,::1', '--log-format', 'pretty'], env);
    expect(c).toMatchObject({ tlsCert: 'a.crt', tlsKey: 'a.key', publicUrl: 'https://192.168.1.20:8080', trustProxy: ['loopback', '172.16.0.0/12', '::1'], logFormat: 'pretty' });
    expect(loadConfig(['--tls', 'self-signed'], {}).tlsSelfSigned).toBe(true);
    expect(loadConfig([], { FEDTSA_TLS: 'self-signed' }).tlsSelfSigned).toBe(true);
  });

  it('keeps a public URL path, without its trailing slash', () => {
    expect(loadConfig(['--public-url', 'https://lab.example.org/fedtsa/'], {}).publicUrl).toBe('https://lab.example.org/fedtsa');
  });

  it.each([
    [['--tls-cert', 'a.crt'], /go together/],
    [['--tls-key', 'a.key'], /go together/],
    [['--tls', 'letsencrypt'], /--tls takes 'self-signed'/],
    [['--tls', 'self-signed', '--tls-cert', 'a', '--tls-key', 'b'], /exclude each other/],
    [['--public-url', 'ftp://192.168.1.20'], /http:\/\/ or https:\/\//],
    [['--public-url', '192.168.1.20:8080'], /absolute URL/],
    [['--public-url', 'not a url'], /absolute URL/],
    [['--public-url', 'https://x.example/?a=1'], /no query/],
    [['--trust-proxy', '1'], /not '1'.*forge/],
    [['--trust-proxy', 'true'], /not 'true'/],
    [['--trust-proxy', 'proxy.example.org'], /'proxy.example.org' is not an IP address/],
    [['--trust-proxy', '10.0.0.0/8/1'], /not an IP address/],
    [['--log-format', 'yaml'], /pretty, json or auto/],
  ])('refuses %j, naming the flag', (argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(message);
  });
});
