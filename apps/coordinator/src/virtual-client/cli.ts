/**
 * Runs virtual clients in their own process (training blocks the event loop it runs on):
 *   node --import tsx apps/coordinator/src/virtual-client/cli.ts --url http://127.0.0.1:8080 \
 *     --run RUN_ID --token=JOIN_TOKEN --count 3 --speed 800
 * A join token is random base64url and may start with '-': pass it as --token=VALUE, which
 * parseArgs reads whatever the value's first character (--token VALUE would be refused then).
 */
import { parseArgs } from 'node:util';
import { useBackend } from '@fedtsa/core/backend';
import { VirtualClient } from './virtual-client.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' }, run: { type: 'string' }, token: { type: 'string' },
    count: { type: 'string', default: '1' }, speed: { type: 'string', default: '500' }, 'emulate-speed': { type: 'boolean', default: false },
    label: { type: 'string', default: 'virtual' },
  },
});
if (!values.url || !values.run || !values.token) {
  console.error('virtual-client: --url, --run and --token are required');
  process.exit(2);
}
await useBackend('wasm');
const clients: VirtualClient[] = [];
for (let i = 0; i < Number(values.count); i++) {
  // Spread speeds a little around the tier's value, as real devices differ.
  const speed = Number(values.speed) * (1 + 0.1 * (i - (Number(values.count) - 1) / 2));
  clients.push(new VirtualClient({
    url: values.url, runId: values.run, joinToken: values.token, samplesPerSec: speed, emulateSpeed: values['emulate-speed'],
    label: `${values.label}-${i}`, log: (m) => console.error(`[${values.label}-${i}] ${m}`),
  }, {
    onRoundAccepted: (round) => console.log(`[${values.label}-${i}] round ${round} update accepted`),
    onRefused: (code) => console.log(`[${values.label}-${i}] update refused: ${code}`),
  }));
}
const stop = () => {
  for (const c of clients) c.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
