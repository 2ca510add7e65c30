/** The run card's line on the background generation of the run's synthetic pool (PoolProgress). */
import type { PoolProgress } from '@fedtsa/protocol/dashboard';

export function describePool(pool: PoolProgress | null | undefined, rounds: number): string {
  if (!pool) return '';
  const reused = pool.imagesReused > 0 ? `, ${pool.imagesReused} found in the store` : '';
  if (pool.state === 'failed') return `Synthetic pool: generation failed (${pool.error ?? 'no reason given'}); rounds use what was made (${pool.imagesReady} images) or run Stage 1 only`;
  if (pool.state === 'waiting') return `Synthetic pool: waiting for the generation worker (${pool.fillTarget} images to make)`;
  if (pool.state === 'ready') return `Synthetic pool: ready, ${pool.imagesTarget} images for all ${rounds} rounds${reused}`;
  const speed = pool.imagesPerSec === null ? '' : `, ${pool.imagesPerSec.toFixed(1)} images/s`;
  const fill = pool.fillReady < pool.fillTarget
    ? `filling: ${pool.fillReady} of ${pool.fillTarget} images made (${Math.floor((100 * pool.fillReady) / pool.fillTarget)}%)`
    : `filled; refreshes made through round ${pool.readyThroughRound} of ${rounds}${pool.state === 'ahead' ? ' (as far ahead as it goes; more as rounds close)' : ''}`;
  return `Synthetic pool: ${fill}${speed}${reused}`;
}
