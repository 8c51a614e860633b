/**
 * What `npm pack` ships, and whether the packed tarball works where nothing else is: it is
 * installed into an empty folder (dependencies from the registry or npm's cache, `speaker`
 * built there), and the installed `videochatd` and `videochat` hold a real call. Also checks
 * the systemd unit in contrib/ with systemd-analyze when that is installed.
 *
 * Packs with --ignore-scripts: `npm test` has just built dist/ (run `npm run build` first when
 * running this file alone).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { isBuiltin } from 'node:module';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string; version: string; bin: Record<string, string>; man: string[]; devDependencies: Record<string, string>;
};
/** Packing takes seconds; installing builds `speaker` natively (about 20 s measured here). */
const PACK_TIMEOUT_MS = 120_000;
const INSTALL_TIMEOUT_MS = 600_000;
/**
 * Length of the test call. Long enough that both sides' capture has started (ffmpeg start-up
 * took up to ~3 s on the loaded 2-core CI machine) and frames flow both ways.
 */
const CALL_SEC = 6;
const CALL_TIMEOUT_MS = 90_000;
const DAEMON_START_TIMEOUT_MS = 30_000;

let work = '';
let tarball = '';
let packedFiles: string[] = [];
let installDir = '';
/** PATH for the installed bins: their shebang finds this node; ffmpeg comes from the system. */
let env: NodeJS.ProcessEnv = {};

function run(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env, timeout: opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'videochat-pack-'));
  env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  for (const k of Object.keys(env)) if (k.startsWith('VIDEOCHAT_')) delete env[k];
  // No config file of the user's (an empty XDG dir: a VIDEOCHAT_CONFIG naming a missing file
  // is an error). HOME stays: npm's cache and node-gyp's headers live there.
  env.XDG_CONFIG_HOME = join(work, 'xdg-config');

  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, timeoutMs: PACK_TIMEOUT_MS });
  const info = (JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>)[0];
  tarball = join(work, info.filename);
  packedFiles = info.files.map((f) => f.path);

  installDir = join(work, 'empty-project');
  mkdirSync(installDir);
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'empty-project', private: true }));
  const started = Date.now();
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: installDir, timeoutMs: INSTALL_TIMEOUT_MS });
  // A figure for the report, not a gate.
  console.log(`# npm install of the tarball into an empty folder: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball ships dist, bin, man, README and LICENSE, and no sources, tests, benchmarks or maps', () => {
  for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/cli/main.js', 'dist/daemon/main.js', ...Object.values(pkg.bin), ...pkg.man]) {
    assert.ok(packedFiles.includes(needed.replace(/^\.\//, '')), `${needed} is missing from the tarball`);
  }
  const unwanted = packedFiles.filter((f) =>
    /^(src|test|bench|scripts|docs|contrib|\.ci|coverage|node_modules)\//.test(f) || /\.(ts|tsx|map)$/.test(f));
  assert.deepEqual(unwanted, [], 'files that should not ship');
});

test('the installed bins print the package version; the shipped code needs no devDependency', async () => {
  const bin = join(installDir, 'node_modules', '.bin');
  assert.equal((await run(join(bin, 'videochat'), ['--version'], { cwd: installDir, timeoutMs: 30_000 })).stdout.trim(), pkg.version);
  assert.equal((await run(join(bin, 'videochatd'), ['--version'], { cwd: installDir, timeoutMs: 30_000 })).stdout.trim(), pkg.version);
  for (const tool of ['tsx', 'typescript', 'eslint']) {
    assert.ok(!existsSync(join(installDir, 'node_modules', tool)), `${tool} was installed`);
  }
  // Every package the shipped code imports must be a runtime dependency: a devDependency can
  // be present in our checkout (and hide the mistake) but never in a user's install.
  const installed = JSON.parse(readFileSync(join(installDir, 'node_modules', pkg.name, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
  };
  const runtime = new Set([...Object.keys(installed.dependencies ?? {}), ...Object.keys(installed.optionalDependencies ?? {})]);
  const imported = new Set<string>();
  for (const file of packedFiles.filter((f) => /^(dist|bin)\/.*\.js$/.test(f))) {
    const text = readFileSync(join(installDir, 'node_modules', pkg.name, file), 'utf8');
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]/gm),
      ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
      ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]);
    for (const spec of specifiers) {
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  assert.ok(imported.has('commander') && imported.has('ink'), `the import scan sees the shipped imports: ${[...imported].join(' ')}`);
  const notRuntime = [...imported].filter((name) => !runtime.has(name) && !isBuiltin(name));
  assert.deepEqual(notRuntime, [], 'imported by the shipped code but not a runtime dependency');
  const help = await run(join(bin, 'videochat'), ['connect', '--help'], { cwd: installDir, timeoutMs: 30_000 });
  assert.match(help.stdout, /--session <code>/);
});

/** Reads NDJSON lines of a child's stdout until one matches. */
function waitForLine(child: ChildProcessWithoutNullStreams, match: (obj: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => { lines.close(); reject(new Error('no matching line in time')); }, timeoutMs);
    lines.on('line', (line) => {
      let obj: Record<string, unknown>;
      try { obj = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      if (match(obj)) { clearTimeout(timer); lines.close(); resolve(obj); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code} before the line`)); });
  });
}

function exitOf(child: ChildProcessWithoutNullStreams, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) { resolve(child.exitCode); return; }
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('did not exit in time')); }, timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

test('the installed videochatd relays a real call between two installed videochat clients', async () => {
  const bin = join(installDir, 'node_modules', '.bin');
  const daemon = spawn(join(bin, 'videochatd'), ['--host', '127.0.0.1', '--video-port', '0', '--audio-port', '0', '--handlers', '1'], { cwd: installDir, env });
  let daemonErr = '';
  daemon.stderr.on('data', (c: Buffer) => { daemonErr += c.toString(); });
  try {
    const listening = await waitForLine(daemon, (o) => o.msg === 'listening', DAEMON_START_TIMEOUT_MS);
    assert.ok(Number(listening.videoPort) > 0 && Number(listening.audioPort) > 0, JSON.stringify(listening));
    assert.equal(listening.pid, daemon.pid);

    const session = `package-test-${randomBytes(8).toString('hex')}`;
    const args = ['connect', '--json', '--host', '127.0.0.1', '--video-port', String(listening.videoPort),
      '--audio-port', String(listening.audioPort), '--session', session, '--video-in', 'test', '--audio-in', 'test',
      '--render', 'none', '--audio-out', 'none', '--duration', String(CALL_SEC)];
    const peers = [0, 1].map(() => {
      const child = spawn(join(bin, 'videochat'), args, { cwd: installDir, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      return { child, output: () => ({ out, err }) };
    });
    const codes = await Promise.all(peers.map((p) => exitOf(p.child, CALL_TIMEOUT_MS)));
    for (const [i, p] of peers.entries()) {
      const { out, err } = p.output();
      assert.ok(out.trim() !== '', `peer ${i} printed no event (exit ${codes[i]}): ${err}`);
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(codes[i], 0, `peer ${i}: ${err}`);
      assert.ok(events.some((e) => e.event === 'peer-joined'), `peer ${i} never saw its peer`);
      const ended = events.at(-1)!;
      assert.equal(ended.event, 'ended');
      assert.equal(ended.reason, 'hangup');
      assert.ok(Number(ended.videoFramesReceived) > 0, `peer ${i} received no video: ${JSON.stringify(ended)}`);
      assert.equal(ended.encrypted, true);
    }
  } finally {
    daemon.kill('SIGTERM');
    const code = await exitOf(daemon, DAEMON_START_TIMEOUT_MS);
    assert.equal(code, 0, daemonErr);
  }
});

test('contrib/videochatd.service passes systemd-analyze verify', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // verify insists that ExecStart exists; point it at the installed bin instead of /usr/local/bin.
  const unitText = readFileSync(join(root, 'contrib', 'videochatd.service'), 'utf8');
  const execStart = /^ExecStart=(\S+)/m.exec(unitText);
  assert.ok(execStart, 'the unit has an ExecStart');
  const unit = join(work, 'videochatd.service');
  writeFileSync(unit, unitText.replace(execStart[1], join(installDir, 'node_modules', '.bin', 'videochatd')));
  const r = spawnSync('timeout', ['60', 'systemd-analyze', 'verify', '--man=no', unit], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
  // The drain must fit in the stop timeout, or systemd kills pairs mid-drain.
  const drain = Number(/--drain-timeout (\d+)/.exec(unitText)?.[1]);
  const stop = Number(/^TimeoutStopSec=(\d+)/m.exec(unitText)?.[1]);
  assert.ok(stop > drain, `TimeoutStopSec ${stop} must exceed --drain-timeout ${drain}`);
});
