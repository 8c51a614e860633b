/**
 * Run inside a real terminal (tmux pane, xterm): detects capabilities on this process's own
 * stdin/stdout and writes them as JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import { detectCapabilities } from '../../../src/cli/term/detect.js';

const out = process.argv[2];
const timeoutMs = Number(process.argv[3] ?? 150);
const started = Date.now();
const caps = await detectCapabilities({ stdin: process.stdin, stdout: process.stdout, env: process.env, timeoutMs });
writeFileSync(out, JSON.stringify({ ...caps, elapsedMs: Date.now() - started, rawAfter: process.stdin.isRaw ?? null }));
process.exit(0);
