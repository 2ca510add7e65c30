import { describe, expect, it } from 'vitest';
import { chooseLogFormat, formatLogLine, prettyDestination } from './log-format.ts';

const at = (h: number, m: number, s: number) => new Date(2026, 0, 2, h, m, s).getTime();

describe('chooseLogFormat', () => {
  it('is pretty on a terminal and JSON on a pipe when left to auto', () => {
    expect(chooseLogFormat('auto', true)).toBe('pretty');
    expect(chooseLogFormat('auto', false)).toBe('json');
  });
  it('follows --log-format whatever stdout is', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });
});

describe('formatLogLine', () => {
  it('writes local time, level and message, then the other fields as key=value', () => {
    const line = JSON.stringify({ level: 40, time: at(9, 5, 7), pid: 1, hostname: 'h', msg: 'update refused', runId: 'run-1', round: 3, why: 'norm too large' });
    expect(formatLogLine(line)).toBe('09:05:07  WARN   update refused  runId=run-1 round=3 why="norm too large"');
  });

  it('shows a request and its response in words', () => {
    const req = JSON.stringify({ level: 30, time: at(12, 0, 0), reqId: 'req-1', req: { method: 'GET', url: '/api/health', remoteAddress: '192.0.2.7' }, msg: 'incoming request' });
    expect(formatLogLine(req)).toBe('12:00:00  INFO   incoming request  GET /api/health from 192.0.2.7');
    const res = JSON.stringify({ level: 30, time: at(12, 0, 0), reqId: 'req-1', res: { statusCode: 200 }, responseTime: 1.234, msg: 'request completed' });
    expect(formatLogLine(res)).toBe('12:00:00  INFO   request completed  -> 200 in 1.2 ms');
  });

  it('puts an error\'s stack on indented lines', () => {
    const line = JSON.stringify({ level: 50, time: at(1, 2, 3), msg: 'boom', err: { type: 'Error', message: 'bad', stack: 'Error: bad\n    at f (x.ts:1:1)' } });
    expect(formatLogLine(line).split('\n')).toEqual(['01:02:03  ERROR  boom', '    Error: bad', '        at f (x.ts:1:1)']);
  });

  it('colours the level only when asked', () => {
    const line = JSON.stringify({ level: 30, time: at(1, 2, 3), msg: 'hi' });
    expect(formatLogLine(line, true)).toBe('01:02:03  \x1b[32mINFO \x1b[0m  hi');
    expect(formatLogLine(line, false)).not.toContain('\x1b');
  });

  it('passes through what is not a JSON object', () => {
    expect(formatLogLine('plain text\n')).toBe('plain text');
    expect(formatLogLine('[1,2]')).toBe('[1,2]');
  });

  it('as a pino destination writes one readable line per JSON line', () => {
    const out: string[] = [];
    const dest = prettyDestination({ write: (t) => out.push(t) }, false);
    dest.write(`${JSON.stringify({ level: 30, time: at(1, 2, 3), msg: 'a' })}\n${JSON.stringify({ level: 20, time: at(1, 2, 4), msg: 'b' })}\n`);
    expect(out).toEqual(['01:02:03  INFO   a\n', '01:02:04  DEBUG  b\n']);
  });
});
