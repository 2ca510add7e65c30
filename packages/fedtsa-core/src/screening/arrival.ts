/**
 * The numeric check of one update as it arrives, before it waits for the round's close: only
 * finite values, and a distance from the model sent within `normMultiple` x its cluster's
 * reference (the previous round's median distance, or this round's so far: round/memory.ts).
 * The wire checks (run, round, cluster, shape, claims) belong to whoever decodes the bytes.
 */
export type ArrivalCheck =
  | { ok: true; distance: number }
  | { ok: false; reason: 'non-finite' | 'norm'; message: string };

export function screenArrival(weights: Float32Array, sent: Float32Array, reference: number | undefined, normMultiple: number): ArrivalCheck {
  if (weights.length !== sent.length) throw new Error(`screenArrival: ${weights.length} values, the model sent has ${sent.length}`);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    const v = weights[i] as number;
    if (!Number.isFinite(v)) return { ok: false, reason: 'non-finite', message: `value ${i} is ${v}` };
    const d = v - (sent[i] as number);
    sum += d * d;
  }
  const distance = Math.sqrt(sum);
  if (reference !== undefined && reference > 0 && distance > normMultiple * reference) {
    return { ok: false, reason: 'norm', message: `distance ${distance.toExponential(3)} > ${normMultiple} x median ${reference.toExponential(3)}` };
  }
  return { ok: true, distance };
}
