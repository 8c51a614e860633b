#!/usr/bin/env node
// Builds the optional echo-canceller addon (native/aec) at install time. Never fails the
// install: without libwebrtc-audio-processing-dev (or a compiler) the call works without
// echo cancellation, and `videochat doctor` says so. Run again with `npm rebuild videochat`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./aec/', import.meta.url));
const say = (msg) => process.stderr.write(`videochat: ${msg}\n`);

function hasLibrary() {
  try {
    execFileSync('pkg-config', ['--exists', 'webrtc-audio-processing'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** npm's own node-gyp (npm names it for install scripts), else the one beside npm, else PATH. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  return found ? [process.execPath, found] : ['node-gyp'];
}

if (process.env.VIDEOCHAT_SKIP_NATIVE === '1') process.exit(0);
if (!hasLibrary()) {
  say('no echo canceller: libwebrtc-audio-processing-dev (and pkg-config) not found; calls work without it');
  process.exit(0);
}
const [cmd, ...pre] = nodeGyp();
// Node's own headers, where its install has them (Debian's nodejs, official tarballs): no download.
const prefix = dirname(dirname(process.execPath));
const nodedir = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const r = spawnSync(cmd, [...pre, 'rebuild', ...nodedir], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const last = (r.stderr || r.error?.message || '').trim().split('\n').filter((l) => !/^gyp info/.test(l)).slice(-3).join(' / ');
  say(`the echo canceller did not build (${last}); calls work without it`);
} else {
  say('echo canceller built (native/aec)');
}
