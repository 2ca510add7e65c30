/**
 * Log lines for people or for machines. Pino writes one JSON object per line; on a terminal
 * (or with --log-format pretty) each is rewritten as "12:04:05 INFO  message  key=value",
 * otherwise it goes out unchanged for a log collector. A small formatter instead of
 * pino-pretty: pino-pretty runs in a worker thread and pulls a dozen packages for what is
 * a few lines here.
 */
import type { LogFormatSetting } from './config.ts';

export type LogFormat = 'json' | 'pretty';

/** --log-format wins; `auto` means pretty when stdout is a terminal, JSON when it is a pipe or file. */
export function chooseLogFormat(setting: LogFormatSetting, stdoutIsTty: boolean): LogFormat {
  if (setting === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return setting;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
// ANSI colours per level, used only on a terminal.
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every pino line has, or that the formatter shows in its own words. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'req', 'res', 'responseTime', 'err', 'reqId']);

/**
 * One pino JSON line as a readable one: local time, level, message, then the request and the
 * other fields as key=value; an error's stack follows on indented lines. A line that is not a
 * JSON object (something printed by other means) is returned as it came.
 */
export function formatLogLine(line: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line.trimEnd();
    entry = parsed as Record<string, unknown>;
  } catch {
    return line.trimEnd();
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const label = (LEVELS[level] ?? `L${level}`).padEnd(5);
  const time = typeof entry.time === 'number' ? clock(new Date(entry.time)) : '--:--:--';
  const parts = [time, colour ? `\x1b[${COLOURS[level] ?? '0'}m${label}\x1b[0m` : label];
  if (typeof entry.msg === 'string') parts.push(entry.msg);
  const req = entry.req as { method?: string; url?: string; remoteAddress?: string } | undefined;
  if (req?.method) parts.push(`${req.method} ${req.url ?? ''}${req.remoteAddress ? ` from ${req.remoteAddress}` : ''}`);
  const res = entry.res as { statusCode?: number } | undefined;
  if (res?.statusCode !== undefined) parts.push(`-> ${res.statusCode}${typeof entry.responseTime === 'number' ? ` in ${entry.responseTime.toFixed(1)} ms` : ''}`);
  const fields = Object.entries(entry).filter(([k]) => !SHOWN.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? quoteIfNeeded(v) : JSON.stringify(v)}`);
  if (fields.length > 0) parts.push(fields.join(' '));
  let out = parts.join('  ');
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err) out += `\n    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).split('\n').join('\n    ')}`;
  return out;
}

/** A pino destination that writes formatted lines to `out` (process.stdout in the coordinator). */
export function prettyDestination(out: { write(text: string): unknown }, colour: boolean): { write(line: string): void } {
  return {
    write(chunk: string) {
      // Pino writes whole lines, one per call; a chunk could still hold several.
      for (const line of chunk.split('\n')) if (line.trim() !== '') out.write(`${formatLogLine(line, colour)}\n`);
    },
  };
}

function clock(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function quoteIfNeeded(v: string): string {
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}
