/**
 * The coordinator process's stdout as an operator or a log collector gets it: readable lines on
 * a terminal (a real pseudo-terminal from util-linux's `script`), JSON lines on a pipe, and
 * --log-format overriding either.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVER = 'apps/coordinator/src/server.ts';

/** Starts the coordinator (port 0, a fresh data folder), collects stdout until it listens, then stops it. */
function firstLines(flags: string[], onTerminal: boolean): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedtsa-log-'));
  const args = [process.execPath, '--import', 'tsx', SERVER, '--port', '0', '--data-dir', dataDir, '--admin-token', 'log-test', '--generator', '/nonexistent',
    '--client-dir', '/nonexistent', '--dashboard-dir', '/nonexistent', ...flags];
  // `script` runs the command on a new pseudo-terminal and copies what it prints to our pipe.
  const child = onTerminal
    ? spawn('script', ['-qfec', args.map((a) => `'${a}'`).join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(args[0] as string, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no 'Server listening' within 60 s:\n${out}\n${err}`)); }, 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (!/Server listening at/.test(out) || !/no dashboard in/.test(out)) return;
      clearTimeout(timer);
      child.once('exit', () => resolve(out.split(/\r?\n/).filter((l) => l.trim() !== '')));
      child.kill('SIGTERM');
    });
  });
}

describe('the coordinator\'s stdout', () => {
  it('is readable lines on a terminal: time, level, message', async () => {
    const lines = await firstLines([], true);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\d\d:\d\d:\d\d {2}(\x1b\[\d+m)?INFO .*Server listening at http:\/\/127\.0\.0\.1:\d+$/)]));
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\d\d:\d\d:\d\d {2}(\x1b\[\d+m)?WARN .*no dashboard in \/nonexistent/)]));
  }, 120_000);

  it('is JSON lines on a pipe, and with --log-format json on a terminal', async () => {
    for (const lines of [await firstLines([], false), await firstLines(['--log-format', 'json'], true)]) {
      expect(lines.length).toBeGreaterThan(0);
      const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^Server listening at http:\/\//)]));
    }
  }, 180_000);

  it('is readable lines on a pipe with --log-format pretty, without colour', async () => {
    const lines = await firstLines(['--log-format', 'pretty'], false);
    expect(lines.some((l) => l.startsWith('{') || l.includes('\x1b'))).toBe(false);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\d\d:\d\d:\d\d {2}INFO {3}Server listening at/)]));
  }, 120_000);
});
