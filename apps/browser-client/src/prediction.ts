/** A model's class probabilities as the page shows them: classes ranked, probabilities in percent. */

export interface RankedClass {
  classIndex: number;
  className: string;
  /** 0-1. */
  probability: number;
}

/**
 * The classes by falling probability (ties keep the task's order). Refuses probabilities that
 * do not match the classes one to one, are not finite or do not sum to about 1 (a softmax's
 * output; float32 allows a little slack).
 */
export function rankClasses(probabilities: ArrayLike<number>, classNames: readonly string[]): RankedClass[] {
  if (probabilities.length !== classNames.length) {
    throw new Error(`rankClasses: ${probabilities.length} probabilities for ${classNames.length} classes (${classNames.join(', ')})`);
  }
  const values = Array.from(probabilities);
  const bad = values.findIndex((p) => !Number.isFinite(p) || p < 0 || p > 1);
  if (bad >= 0) throw new Error(`rankClasses: probability ${values[bad]} of class '${classNames[bad]}' is not in 0-1`);
  const sum = values.reduce((s, p) => s + p, 0);
  if (Math.abs(sum - 1) > 1e-3) throw new Error(`rankClasses: probabilities sum to ${sum}, not 1`);
  return values.map((probability, classIndex) => ({ classIndex, className: classNames[classIndex] as string, probability }))
    .sort((a, b) => b.probability - a.probability || a.classIndex - b.classIndex);
}

/** "87.3%"; below 0.1% "<0.1%", so that a tiny probability does not read as zero. */
export function formatProbability(p: number): string {
  if (p > 0 && p < 0.001) return '<0.1%';
  return `${(p * 100).toFixed(1)}%`;
}
