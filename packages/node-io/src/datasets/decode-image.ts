/** PNG and JPEG files to RGBA bytes, with every failure named by file (pngjs and jpeg-js, pure JS). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { SOURCE_SIDE_LIMITS, checkSourceSide } from './task-name.ts';

export interface RgbaImage {
  width: number;
  height: number;
  /** [height, width, 4] bytes. */
  rgba: Uint8Array;
}

export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** `name` appears in every error. */
export function decodeImage(bytes: Uint8Array, name: string): RgbaImage {
  const format = imageFormat(bytes);
  if (!format) throw new Error(`${name} is neither a PNG nor a JPEG file (by its first bytes); convert it to PNG or JPEG, or remove it`);
  if (format === 'png' && bytes.length >= 24) {
    // The header gives the size, so a huge image is refused before it is decoded.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkSourceSide(name, view.getUint32(20), view.getUint32(16));
  }
  let out: RgbaImage;
  try {
    if (format === 'png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      out = { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } else {
      const maxMp = (SOURCE_SIDE_LIMITS.max * SOURCE_SIDE_LIMITS.max) / 1e6;
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxMp, maxMemoryUsageInMB: 512 });
      out = { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw new Error(`${name}: cannot decode this ${format.toUpperCase()} file (${(e as Error).message}); re-save it or remove it`);
  }
  checkSourceSide(name, out.height, out.width);
  return out;
}
