/**
 * The ffmpeg stand-in (ffmpeg-shim.ts) as a launcher for `--ffmpeg`, for the call benchmarks.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const LIB_DIR = fileURLToPath(new URL('./', import.meta.url));

/**
 * Transpiles the shim and its one import to plain ESM in `dir` and writes an `ffmpeg`
 * launcher for `--ffmpeg`: node starts that in ~50 ms, where a TypeScript loader took seconds
 * on a busy machine (past the client's 10 s first-output limit, measured).
 */
export function shimLauncher(dir: string): string {
  for (const name of ['ffmpeg-shim', 'stamp']) {
    const src = readFileSync(join(LIB_DIR, `${name}.ts`), 'utf8');
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    writeFileSync(join(dir, `${name}.js`), out.outputText);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const path = join(dir, 'ffmpeg');
  writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${join(dir, 'ffmpeg-shim.js')}" "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

