/**
 * Noise schedule of the DDPM (cosine, Nichol & Dhariwal 2021) and the DDIM timestep grid.
 * Plain numbers, no tensors.
 */
export interface NoiseSchedule {
  /** Training timesteps T. */
  steps: number;
  /** alphaBar[t] = prod_{s<=t} (1 - beta_s), for t = 0..T-1. */
  alphaBar: Float64Array;
}

export function cosineSchedule(steps = 1000, offset = 0.008): NoiseSchedule {
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`cosineSchedule: steps must be an integer >= 2, got ${steps}`);
  const f = (t: number) => Math.cos(((t / steps + offset) / (1 + offset)) * (Math.PI / 2)) ** 2;
  const alphaBar = new Float64Array(steps);
  let prod = 1;
  for (let t = 0; t < steps; t++) {
    // beta clipped at 0.999 as in the paper, so the last steps do not collapse to zero signal
    const beta = Math.min(1 - f(t + 1) / f(t), 0.999);
    prod *= 1 - beta;
    alphaBar[t] = prod;
  }
  return { steps, alphaBar };
}

/** Evenly spaced timesteps from T-1 down to 0 for DDIM with `count` steps. */
export function ddimTimesteps(schedule: NoiseSchedule, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1 && count <= schedule.steps)) {
    throw new Error(`ddimTimesteps: count must be an integer in [1, ${schedule.steps}], got ${count}`);
  }
  const out: number[] = [];
  for (let i = count - 1; i >= 0; i--) out.push(Math.round((i * (schedule.steps - 1)) / Math.max(1, count - 1)));
  return count === 1 ? [schedule.steps - 1] : out;
}
