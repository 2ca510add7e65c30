/**
 * The in-memory labelled image set shared by every reader, partitioner and trainer.
 * Pixels are NHWC float32 in [0, 1] because that is what tfjs consumes without a
 * transpose, and one flat buffer keeps subsets and batches cheap to copy.
 */
export interface LabelledImages {
  /** [count, height, width, channels] NHWC, values in [0, 1]. */
  images: Float32Array;
  /** [count], each < numClasses. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
}

function isPositiveInt(x: number): boolean {
  return Number.isInteger(x) && x > 0;
}

/**
 * Throws (naming `fn`) unless `data` is internally consistent. Readers and partitioners
 * call this at their boundary so a shape bug is reported where it enters, not deep in
 * training as a NaN or an out-of-range gather.
 */
export function validateLabelledImages(data: LabelledImages, fn = 'validateLabelledImages'): void {
  const { count, height, width, channels, numClasses } = data;
  if (!Number.isInteger(count) || count < 0) throw new Error(`${fn}: count must be a non-negative integer, got ${count}`);
  for (const [name, v] of [['height', height], ['width', width], ['channels', channels], ['numClasses', numClasses]] as const) {
    if (!isPositiveInt(v)) throw new Error(`${fn}: ${name} must be a positive integer, got ${v}`);
  }
  if (numClasses > 256) throw new Error(`${fn}: numClasses ${numClasses} does not fit Uint8Array labels`);
  const perImage = height * width * channels;
  if (data.images.length !== count * perImage) {
    throw new Error(`${fn}: images has ${data.images.length} values, expected ${count}*${height}*${width}*${channels} = ${count * perImage}`);
  }
  if (data.labels.length !== count) throw new Error(`${fn}: labels has ${data.labels.length} entries, expected ${count}`);
  for (let i = 0; i < count; i++) {
    const l = data.labels[i] as number;
    if (l >= numClasses) throw new Error(`${fn}: label ${l} at index ${i} is not < numClasses ${numClasses}`);
  }
}

/** Copies the given samples (in the given order, repeats allowed) into a new dataset. */
export function subset(data: LabelledImages, indices: ArrayLike<number>): LabelledImages {
  const per = data.height * data.width * data.channels;
  const n = indices.length;
  const images = new Float32Array(n * per);
  const labels = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const i = indices[j] as number;
    if (!Number.isInteger(i) || i < 0 || i >= data.count) {
      throw new Error(`subset: index ${i} at position ${j} is out of range [0, ${data.count})`);
    }
    images.set(data.images.subarray(i * per, (i + 1) * per), j * per);
    labels[j] = data.labels[i] as number;
  }
  return { images, labels, count: n, height: data.height, width: data.width, channels: data.channels, numClasses: data.numClasses };
}

/** Joins datasets of identical shape and class count (e.g. the five CIFAR-10 batch files). */
export function concatDatasets(list: readonly LabelledImages[]): LabelledImages {
  const first = list[0];
  if (first === undefined) throw new Error('concatDatasets: need at least one dataset');
  let total = 0;
  for (const [k, d] of list.entries()) {
    if (d.height !== first.height || d.width !== first.width || d.channels !== first.channels || d.numClasses !== first.numClasses) {
      throw new Error(
        `concatDatasets: dataset ${k} is ${d.height}x${d.width}x${d.channels}/${d.numClasses} classes, ` +
          `expected ${first.height}x${first.width}x${first.channels}/${first.numClasses} classes`,
      );
    }
    total += d.count;
  }
  const per = first.height * first.width * first.channels;
  const images = new Float32Array(total * per);
  const labels = new Uint8Array(total);
  let at = 0;
  for (const d of list) {
    images.set(d.images.subarray(0, d.count * per), at * per);
    labels.set(d.labels.subarray(0, d.count), at);
    at += d.count;
  }
  return { images, labels, count: total, height: first.height, width: first.width, channels: first.channels, numClasses: first.numClasses };
}

/** Number of samples per class, length numClasses. */
export function classCounts(data: Pick<LabelledImages, 'labels' | 'numClasses'>): number[] {
  const counts = new Array<number>(data.numClasses).fill(0);
  for (const l of data.labels) {
    if (l >= data.numClasses) throw new Error(`classCounts: label ${l} is not < numClasses ${data.numClasses}`);
    counts[l] = (counts[l] as number) + 1;
  }
  return counts;
}
