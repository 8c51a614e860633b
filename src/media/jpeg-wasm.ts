/**
 * JPEG decoding in this process: libjpeg-turbo (mozjpeg) compiled to WebAssembly, from the
 * `@jsquash/jpeg` package. Loaded once, on first use; when it cannot be loaded (package
 * missing, no WebAssembly) `loadJpegDecoder()` resolves null and the caller falls back to an
 * ffmpeg decoder. The wasm file is compiled here and handed to the package's init: its own
 * loader fetches the file by URL, which Node cannot.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A decoded JPEG: RGBA, `data.length === width * height * 4`. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes one whole JPEG; throws on a broken one. */
export type JpegDecodeFn = (jpeg: Uint8Array) => Promise<RgbaImage>;

let loading: Promise<JpegDecodeFn | null> | undefined;

/** The in-process decoder, or null when it cannot be had here (then use ffmpeg). */
export function loadJpegDecoder(): Promise<JpegDecodeFn | null> {
  loading ??= load().catch(() => null);
  return loading;
}

/** A compiled WebAssembly module (the project's lib settings leave out the DOM's types for it). */
type WasmModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly?: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;

interface JsquashDecode {
  default: (buffer: ArrayBuffer, options?: { preserveOrientation?: boolean }) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
  init: (module: WasmModule, overrides?: Record<string, unknown>) => Promise<void>;
}

async function load(): Promise<JpegDecodeFn> {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@jsquash/jpeg/package.json'));
  if (!wasmApi) throw new Error('no WebAssembly in this runtime');
  const wasm = await wasmApi.compile(await readFile(join(pkgDir, 'codec', 'dec', 'mozjpeg_dec.wasm')));
  const spec = '@jsquash/jpeg/decode.js';
  const mod = (await import(spec)) as JsquashDecode;
  // libjpeg's warnings about a damaged frame would go to our stderr (the TUI's screen): drop them.
  await mod.init(wasm, { print: () => undefined, printErr: () => undefined });
  return async (jpeg) => {
    // The decoder reads a copy: it must not see a buffer that changes under it.
    const copy = jpeg.buffer.slice(jpeg.byteOffset, jpeg.byteOffset + jpeg.byteLength) as ArrayBuffer;
    const img = await mod.default(copy);
    return { width: img.width, height: img.height, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
  };
}
