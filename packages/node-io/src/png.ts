/** A minimal greyscale/RGB PNG encoder (zlib from Node), for sample grids. */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** pixels: [height, width, channels] bytes, channels 1 (grey) or 3 (RGB). */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (pixels.length !== width * height * channels) throw new Error(`encodePng: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: grey or RGB
  const rows = Buffer.alloc(height * (1 + width * channels));
  for (let y = 0; y < height; y++) {
    rows[y * (1 + width * channels)] = 0; // filter: none
    Buffer.from(pixels.subarray(y * width * channels, (y + 1) * width * channels)).copy(rows, y * (1 + width * channels) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Tiles [n, h, w, c] images in [0, 1] into a grid with `cols` columns and a 2-pixel gap. */
export function imageGrid(images: Float32Array, n: number, h: number, w: number, c: 1 | 3, cols: number): Buffer {
  const rows = Math.ceil(n / cols);
  const gap = 2;
  const W = cols * (w + gap) + gap;
  const H = rows * (h + gap) + gap;
  const pixels = new Uint8Array(W * H * c).fill(255);
  for (let i = 0; i < n; i++) {
    const ox = gap + (i % cols) * (w + gap);
    const oy = gap + Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      const v = images[((i * h + y) * w + x) * c + k] as number;
      pixels[((oy + y) * W + ox + x) * c + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  return encodePng(pixels, W, H, c);
}
