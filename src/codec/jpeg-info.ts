/**
 * The pixel size of a JPEG, read from its frame header (SOFn), without decoding it.
 * Pure. Used where the picture's size is not announced (the original client sends its
 * camera's frames at whatever size the camera gives).
 */

/** SOF0..SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Width and height from the first SOF segment, or null when there is none before the scan. */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } | null {
  const f = jpegFrameHeader(jpeg);
  return f ? { width: f.width, height: f.height } : null;
}

/**
 * The first SOF segment: size and whether it is baseline/extended sequential (SOF0/SOF1, one
 * scan per component set: what cameras and ffmpeg's encoder write) rather than progressive,
 * lossless or arithmetic-coded (any number of scans: costlier to decode, and never what a
 * videochat sender produces).
 */
export function jpegFrameHeader(jpeg: Uint8Array): { width: number; height: number; sequential: boolean } | null {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1]!;
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
    if (marker === 0xda || marker === 0xd9) return null; // scan or end before any SOF
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      if (i + 9 > jpeg.length) return null;
      const height = (jpeg[i + 5]! << 8) | jpeg[i + 6]!;
      const width = (jpeg[i + 7]! << 8) | jpeg[i + 8]!;
      return width > 0 && height > 0 ? { width, height, sequential: marker === 0xc0 || marker === 0xc1 } : null;
    }
    i += 2 + length;
  }
  return null;
}
