/**
 * Bytes on the wire per update, against 4 bytes times the parameter count (float32), for
 * every width of the reference model, in float32 and float16. The bytes are what socket.io's
 * own encoder produces for the 'update' event (the JSON header packet plus the binary
 * attachment); websocket framing adds 2-14 bytes per frame on top.
 *   node --import tsx bench/wire-bytes.ts
 */
import { Encoder, PacketType } from 'socket.io-parser';
import { modelManifest, parameterCount, type ModelSpec } from '@fedtsa/core/architecture';
import { encodeWeights, type WeightDtype } from '@fedtsa/protocol/codec';
import { CLIENT_NAMESPACE } from '@fedtsa/protocol/events';
import { fmt, table } from './lib.ts';

const SPEC: ModelSpec = { inputShape: [28, 28, 1], numClasses: 10 };
const encoder = new Encoder();

function wireBytes(widthRatio: number, dtype: WeightDtype): number {
  const manifest = modelManifest(SPEC, widthRatio);
  const weights = Float32Array.from({ length: parameterCount(manifest) }, (_, i) => Math.sin(i));
  const payload = {
    runId: 'run-0123456789', round: 17, clusterIndex: 2, numSamples: 300, trainLoss: 0.4321,
    weights: encodeWeights(weights, manifest.map((p) => ({ name: p.name, shape: [...p.shape] })), dtype),
  };
  const packets = encoder.encode({ type: PacketType.EVENT, nsp: CLIENT_NAMESPACE, id: 42, data: ['update', payload] });
  return packets.reduce((n: number, p: string | Buffer | ArrayBuffer | Uint8Array) => n + (typeof p === 'string' ? Buffer.byteLength(p) + 1 : p.byteLength + 1), 0);
}

const rows: (string | number)[][] = [];
for (const w of [1, 0.5, 0.25, 0.125]) {
  const params = parameterCount(modelManifest(SPEC, w));
  const base = 4 * params;
  const f32 = wireBytes(w, 'float32');
  const f16 = wireBytes(w, 'float16');
  rows.push([w, params.toLocaleString('en'), base.toLocaleString('en'), f32.toLocaleString('en'), fmt(f32 / base, 4), f16.toLocaleString('en'), fmt(f16 / base, 4)]);
}
console.log('Bytes per update as socket.io encodes it (header packet + binary attachment, +1 byte engine.io type each), against 4 x parameters.\n');
console.log(table(['width', 'parameters', '4 x params (baseline)', 'float32 bytes', 'ratio', 'float16 bytes', 'ratio'], rows));
