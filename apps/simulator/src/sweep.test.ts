/**
 * The sweep CLI for real, on a tiny config (demo preset, 2 rounds, 6 clients, 300 images):
 * it runs the cells, writes the summary, skips done cells on a second run, redoes a deleted
 * one, and keeps a failed cell's log out of the cells.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const TINY = ['--', '--preset', 'demo', '--rounds', '2', '--clients', '6', '--client-samples', '300', '--workers', '1'];

async function sweep(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'apps/simulator/src/sweep.ts', ...args], { maxBuffer: 16 << 20 });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

describe('npm run sweep', () => {
  it('runs each cell once, resumes, and redoes a deleted cell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-sweep-'));
    const args = ['--out', dir, '--plan', '0.5:1', '--arms', 'fedavg-small,centralised', ...TINY];
    const fedavg = join(dir, 'cells/alpha-0.5/seed-1/fedavg-small');
    const central = join(dir, 'cells/alpha-any/seed-1/centralised');
    const finishedAt = (cell: string) => (JSON.parse(readFileSync(join(cell, 'cell.json'), 'utf8')) as { finishedAt: string; command: string });

    // The first run commits each cell with the summary, in a repo of its own.
    const git = async (...a: string[]) => (await run('git', a, { cwd: dir })).stdout;
    await git('init', '-q');
    await git('config', 'user.email', 'sweep@test');
    await git('config', 'user.name', 'sweep test');
    const first = await sweep([...args.slice(0, args.indexOf('--')), '--commit', ...args.slice(args.indexOf('--'))]);
    expect(first.code, first.err).toBe(0);
    expect((await git('log', '--format=%s')).trim().split('\n')).toEqual([
      expect.stringMatching(/^sweep: centralised alpha any seed 1 \(\d+ s\)$/), expect.stringMatching(/^sweep: fedavg-small alpha 0.5 seed 1 \(\d+ s\)$/),
    ]);
    expect((await git('ls-files')).split('\n')).toEqual(expect.arrayContaining(['summary.md', 'cells/alpha-any/seed-1/centralised/cell.json', 'accuracy-time-alpha-0.5.svg']));
    expect(await git('status', '--porcelain')).toBe('');
    for (const f of ['comparison.json', 'comparison.md', 'accuracy.svg', 'cell.json']) {
      expect(existsSync(join(fedavg, f)), f).toBe(true);
      expect(existsSync(join(central, f)), f).toBe(true);
    }
    expect(existsSync(`${fedavg}.partial`)).toBe(false);
    expect(finishedAt(fedavg).command).toContain('--seed 1 --strategy fedavg-small --preset demo');
    for (const f of ['summary.md', 'summary.json', 'accuracy-rounds-alpha-0.5.svg', 'accuracy-time-alpha-0.5.svg']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/\| fedavg-small \| \d+\.\d \| /);
    const before = [finishedAt(fedavg).finishedAt, finishedAt(central).finishedAt];

    const second = await sweep(args);
    expect(second.code, second.err).toBe(0);
    expect(second.out.match(/done already, skipped/g)).toHaveLength(2);
    expect(second.out).not.toMatch(/: running/);
    expect([finishedAt(fedavg).finishedAt, finishedAt(central).finishedAt]).toEqual(before);

    rmSync(fedavg, { recursive: true });
    const third = await sweep(args);
    expect(third.code, third.err).toBe(0);
    expect(third.out).toMatch(/\[1\/2\] fedavg-small alpha 0.5 seed 1: done in \d+ s/);
    expect(third.out).toMatch(/\[2\/2\] centralised alpha any seed 1: done already, skipped/);
    expect(existsSync(join(fedavg, 'comparison.json'))).toBe(true);
    expect(finishedAt(central).finishedAt).toBe(before[1]);
    rmSync(dir, { recursive: true });
  }, 300_000); // about 20 s on an idle machine; minutes when other simulations share the cores

  it('keeps a failed cell as .partial with its log, goes on, and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-sweep-'));
    const failed = await sweep(['--out', dir, '--plan', '0.5:1-2', '--arms', 'fedavg-small', '--', '--rounds', '0']);
    expect(failed.code).not.toBe(0);
    expect(failed.err).toMatch(/2 cell\(s\) failed/);
    expect(readFileSync(join(dir, 'cells/alpha-0.5/seed-2/fedavg-small.partial/log.txt'), 'utf8')).toMatch(/rounds must be a positive integer/);
    expect(existsSync(join(dir, 'cells/alpha-0.5/seed-1/fedavg-small'))).toBe(false);
    rmSync(dir, { recursive: true });
  }, 120_000);

  it('refuses to run beside another sweep on the same folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedtsa-sweep-'));
    writeFileSync(join(dir, '.sweep.lock'), String(process.pid)); // this test's process: alive
    const r = await sweep(['--out', dir, '--plan', '0.5:1', '--arms', 'fedavg-small']);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`another sweep (pid ${process.pid}) is running`);
    expect(existsSync(join(dir, 'cells'))).toBe(false);
    rmSync(dir, { recursive: true });
  }, 30_000);

  it('refuses an unknown arm, naming the known ones', async () => {
    const r = await sweep(['--out', join(tmpdir(), 'fedtsa-sweep-never-written'), '--arms', 'fedprox', '--dry-run']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/unknown arm\(s\) fedprox; known: fedavg-small, heterofl, fedrolex, fjord, feddf, feddf-public, fedtsa-stage1, fedtsa, centralised/);
  }, 30_000);
});
