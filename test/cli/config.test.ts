/**
 * Defaults from the config file and VIDEOCHAT_* variables, precedence flag > env > file >
 * built-in. Observed the way a user would: a real `videochat connect --json` process against a
 * closed port reports in its `connecting` event where it went (exit 3), and in-process through
 * the commander program for flags that have no effect visible before a call starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, type RawOptions } from '../../src/cli/program.js';

const bin = new URL('../../bin/videochat.js', import.meta.url).pathname;
/** A refused connection ends a run in well under a second; this only catches a hang. */
const RUN_TIMEOUT_MS = 60_000;
/** Options that keep a run away from camera, mic, speaker and terminal. */
const QUIET = ['--video-in', 'none', '--audio-in', 'none', '--render', 'none', '--audio-out', 'none'];

interface Run { status: number | null; events: Array<Record<string, unknown>>; stdout: string; stderr: string }

/** A TCP port on loopback that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An environment without the caller's VIDEOCHAT_* and XDG settings, HOME in a temp dir. */
function cleanEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('VIDEOCHAT_') && k !== 'XDG_CONFIG_HOME') env[k] = v;
  }
  return { ...env, HOME: home, ...extra };
}

function runVideochat(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`videochat ${args.join(' ')} hung; stderr: ${stderr}`)); }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ status, events, stdout, stderr });
    });
  });
}

function connectingOf(run: Run): Record<string, unknown> {
  const ev = run.events.find((e) => e.event === 'connecting');
  assert.ok(ev, `no connecting event; stdout: ${run.stdout} stderr: ${run.stderr}`);
  return ev;
}

/** A fresh HOME with a config file at the default place ($HOME/.config/videochat/config.json). */
function homeWithConfig(config: string | object | undefined): string {
  const home = mkdtempSync(join(tmpdir(), 'videochat-config-'));
  if (config !== undefined) {
    mkdirSync(join(home, '.config', 'videochat'), { recursive: true });
    writeFileSync(join(home, '.config', 'videochat', 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  }
  return home;
}

test('the config file at ~/.config/videochat/config.json sets defaults, kebab-case and camelCase keys', async () => {
  const [videoPort, audioPort] = [await closedPort(), await closedPort()];
  const home = homeWithConfig({ host: '127.0.0.2', 'video-port': videoPort, audioPort: String(audioPort) });
  try {
    const run = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(run.status, 3, run.stderr);
    assert.deepEqual(
      { host: connectingOf(run).host, videoPort: connectingOf(run).videoPort, audioPort: connectingOf(run).audioPort },
      { host: '127.0.0.2', videoPort, audioPort },
    );
    assert.equal(run.events.at(-1)?.reason, 'relay-unreachable');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('without any config the built-in default host applies', async () => {
  const [videoPort, audioPort] = [await closedPort(), await closedPort()];
  const home = homeWithConfig(undefined);
  try {
    const run = await runVideochat(['connect', '--json', '--video-port', String(videoPort), '--audio-port', String(audioPort), ...QUIET], cleanEnv(home));
    assert.equal(run.status, 3, run.stderr);
    assert.equal(connectingOf(run).host, '127.0.0.1');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('precedence: VIDEOCHAT_<OPTION> beats the file, a flag beats both', async () => {
  const [fileVideo, envVideo, flagVideo, audioPort] = [await closedPort(), await closedPort(), await closedPort(), await closedPort()];
  const home = homeWithConfig({ host: '127.0.0.2', videoPort: fileVideo, audioPort });
  try {
    const env = cleanEnv(home, { VIDEOCHAT_HOST: '127.0.0.3', VIDEOCHAT_VIDEO_PORT: String(envVideo) });
    const viaEnv = await runVideochat(['connect', '--json', ...QUIET], env);
    assert.equal(viaEnv.status, 3, viaEnv.stderr);
    assert.equal(connectingOf(viaEnv).host, '127.0.0.3');
    assert.equal(connectingOf(viaEnv).videoPort, envVideo);
    assert.equal(connectingOf(viaEnv).audioPort, audioPort, 'an option the environment does not set still comes from the file');

    const viaFlag = await runVideochat(['connect', '--json', '--host', '127.0.0.4', '--video-port', String(flagVideo), ...QUIET], env);
    assert.equal(viaFlag.status, 3, viaFlag.stderr);
    assert.equal(connectingOf(viaFlag).host, '127.0.0.4');
    assert.equal(connectingOf(viaFlag).videoPort, flagVideo);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('XDG_CONFIG_HOME and VIDEOCHAT_CONFIG choose the file', async () => {
  const [videoPort, audioPort] = [await closedPort(), await closedPort()];
  const home = homeWithConfig({ host: '127.0.0.2', videoPort, audioPort });
  const xdg = mkdtempSync(join(tmpdir(), 'videochat-xdg-'));
  mkdirSync(join(xdg, 'videochat'));
  writeFileSync(join(xdg, 'videochat', 'config.json'), JSON.stringify({ host: '127.0.0.5', videoPort, audioPort }));
  const other = join(xdg, 'elsewhere.json');
  writeFileSync(other, JSON.stringify({ host: '127.0.0.6', videoPort, audioPort }));
  try {
    const viaXdg = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home, { XDG_CONFIG_HOME: xdg }));
    assert.equal(viaXdg.status, 3, viaXdg.stderr);
    assert.equal(connectingOf(viaXdg).host, '127.0.0.5');

    const viaVar = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home, { XDG_CONFIG_HOME: xdg, VIDEOCHAT_CONFIG: other }));
    assert.equal(viaVar.status, 3, viaVar.stderr);
    assert.equal(connectingOf(viaVar).host, '127.0.0.6');
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(xdg, { recursive: true, force: true });
  }
});

test('an invalid config file is one line on stderr naming the file, exit 2', async () => {
  const home = homeWithConfig('{"host": "127.0.0.2",');
  try {
    const run = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /config\.json is not valid JSON/);

    writeFileSync(join(home, '.config', 'videochat', 'config.json'), '["host"]');
    const notObject = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(notObject.status, 2);
    assert.equal(notObject.stderr.trim().split('\n').length, 1, notObject.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a bad value from the file or the environment is a usage error (exit 2)', async () => {
  const home = homeWithConfig({ 'video-port': 'seventy' });
  try {
    const fromFile = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(fromFile.status, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /--video-port/);

    writeFileSync(join(home, '.config', 'videochat', 'config.json'), JSON.stringify({ host: true }));
    const boolForValue = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(boolForValue.status, 2, boolForValue.stderr);
    assert.match(boolForValue.stderr, /"host"/);

    const badBool = await runVideochat(['connect', ...QUIET], cleanEnv(home, { VIDEOCHAT_JSON: 'maybe', VIDEOCHAT_CONFIG: '/dev/null' }));
    assert.equal(badBool.status, 2, badBool.stderr);
    assert.match(badBool.stderr, /VIDEOCHAT_JSON/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('boolean options: "json": true in the file, VIDEOCHAT_JSON=0 turns it back off', async () => {
  const [videoPort, audioPort] = [await closedPort(), await closedPort()];
  const home = homeWithConfig({ json: true, videoPort, audioPort });
  try {
    const fromFile = await runVideochat(['connect', ...QUIET], cleanEnv(home));
    assert.equal(fromFile.status, 3, fromFile.stderr);
    assert.equal(fromFile.events[0]?.event, 'connecting', 'the file turned NDJSON on');

    const offByEnv = await runVideochat(['connect', ...QUIET], cleanEnv(home, { VIDEOCHAT_JSON: '0' }));
    assert.equal(offByEnv.status, 3, offByEnv.stderr);
    assert.equal(offByEnv.stdout, '', 'VIDEOCHAT_JSON=0 means off, not "set"');
    assert.match(offByEnv.stderr, /connecting/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/** Parses `argv` in-process and returns the merged options the command body would get. */
async function parsedOptions(argv: string[], env: NodeJS.ProcessEnv): Promise<RawOptions> {
  let seen: RawOptions | undefined;
  let result: Promise<number> | undefined;
  const program = buildProgram(async (_name, _args, options) => { seen = options; return 0; }, (p) => { result = p; }, env);
  program.exitOverride();
  for (const sub of program.commands) sub.exitOverride();
  await program.parseAsync(argv, { from: 'user' });
  await result;
  assert.ok(seen, 'the command ran');
  return seen;
}

test('negated flags: --no-reconnect from VIDEOCHAT_NO_RECONNECT, or "no-reconnect"/"reconnect" in the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'videochat-neg-'));
  const file = join(dir, 'c.json');
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ VIDEOCHAT_CONFIG: file, ...extra });
  try {
    writeFileSync(file, '{}');
    assert.equal((await parsedOptions(['connect'], env({}))).reconnect, true);
    assert.equal((await parsedOptions(['connect', '--no-reconnect'], env({}))).reconnect, false);
    assert.equal((await parsedOptions(['connect'], env({ VIDEOCHAT_NO_RECONNECT: '1' }))).reconnect, false);
    assert.equal((await parsedOptions(['connect'], env({ VIDEOCHAT_NO_RECONNECT: 'false' }))).reconnect, true);

    writeFileSync(file, JSON.stringify({ 'no-reconnect': true }));
    assert.equal((await parsedOptions(['connect'], env({}))).reconnect, false);
    assert.equal((await parsedOptions(['connect'], env({ VIDEOCHAT_NO_RECONNECT: '0' }))).reconnect, true, 'env beats file');
    writeFileSync(file, JSON.stringify({ reconnect: false }));
    assert.equal((await parsedOptions(['connect'], env({}))).reconnect, false);
    writeFileSync(file, JSON.stringify({ noReconnect: false }));
    assert.equal((await parsedOptions(['connect'], env({}))).reconnect, true);

    writeFileSync(file, JSON.stringify({ insecure: 'yes' }));
    assert.equal((await parsedOptions(['connect'], env({}))).insecure, true);
    assert.equal((await parsedOptions(['connect'], env({ VIDEOCHAT_INSECURE: '0' }))).insecure, false, 'VIDEOCHAT_INSECURE=0 keeps encryption on');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every command reads the same sources: play, demo, doctor, devices', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'videochat-cmds-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ render: 'ascii', json: true, speed: 'max' }));
  try {
    const env = { VIDEOCHAT_CONFIG: file, VIDEOCHAT_FFMPEG: '/opt/ffmpeg' };
    const play = await parsedOptions(['play', 'x.mp4'], env);
    assert.deepEqual([play.render, play.speed, play.ffmpeg], ['ascii', 'max', '/opt/ffmpeg']);
    const demo = await parsedOptions(['demo', '--render', 'blocks'], env);
    assert.deepEqual([demo.render, demo.json], ['blocks', true]);
    assert.equal((await parsedOptions(['doctor'], env)).json, true);
    assert.equal((await parsedOptions(['devices'], { ...env, VIDEOCHAT_JSON: 'off' })).json, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad value is blamed on where it came from: the variable, or the file and its key as written', async () => {
  const home = homeWithConfig({ videoPort: 'seventy' });
  try {
    const fromEnv = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home, { VIDEOCHAT_VIDEO_PORT: 'abc' }));
    assert.equal(fromEnv.status, 2, fromEnv.stderr);
    const envLines = fromEnv.stderr.trim().split('\n');
    assert.equal(envLines.length, 1, fromEnv.stderr);
    assert.match(envLines[0], /^videochat: VIDEOCHAT_VIDEO_PORT \(for --video-port\) must be a port number 0-65535, got 'abc'$/);

    const fromFile = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(fromFile.status, 2, fromFile.stderr);
    const file = join(home, '.config', 'videochat', 'config.json');
    assert.match(fromFile.stderr, new RegExp(`^videochat: "videoPort" in ${file} \\(for --video-port\\) must be a port number`));

    const fromFlag = await runVideochat(['connect', '--json', '--video-port', 'x', ...QUIET], cleanEnv(home));
    assert.equal(fromFlag.status, 2, fromFlag.stderr);
    assert.match(fromFlag.stderr, /^videochat: --video-port must be a port number 0-65535, got 'x'$/m, 'a typed flag is named as typed');

    const doctor = await runVideochat(['doctor', '--json'], cleanEnv(home, { VIDEOCHAT_CONFIG: '/dev/null', VIDEOCHAT_VIDEO_PORT: '70000' }));
    assert.equal(doctor.status, 2, doctor.stderr);
    assert.match(doctor.stderr, /^videochat: VIDEOCHAT_VIDEO_PORT \(for --video-port\) must be/m, 'every command, not only connect');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('VIDEOCHAT_CONFIG naming a missing file is an error; an empty file is no config', async () => {
  const home = homeWithConfig(undefined);
  try {
    const missing = join(home, 'typo.json');
    const run = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home, { VIDEOCHAT_CONFIG: missing }));
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, `videochat: VIDEOCHAT_CONFIG names ${missing}, which does not exist\n`);

    const [videoPort, audioPort] = [await closedPort(), await closedPort()];
    const empty = join(home, 'empty.json');
    writeFileSync(empty, '\n');
    const ok = await runVideochat(['connect', '--json', '--video-port', String(videoPort), '--audio-port', String(audioPort), ...QUIET],
      cleanEnv(home, { VIDEOCHAT_CONFIG: empty }));
    assert.equal(ok.status, 3, ok.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('unknown keys in the config file get one warning naming them; known keys still apply', async () => {
  const [videoPort, audioPort] = [await closedPort(), await closedPort()];
  const home = homeWithConfig({ hots: '10.0.0.1', 'audio-prot': 1, videoPort, audioPort, reconnect: false });
  try {
    const run = await runVideochat(['connect', '--json', ...QUIET], cleanEnv(home));
    assert.equal(run.status, 3, run.stderr);
    assert.equal(connectingOf(run).videoPort, videoPort);
    const warnings = run.stderr.split('\n').filter((l) => /unknown key/.test(l));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0], /^videochat: warning: .*config\.json: unknown keys "hots", "audio-prot" \(not an option of any command\); ignored$/);
    assert.doesNotMatch(warnings[0], /reconnect/, '"reconnect": false is the negated --no-reconnect');
    assert.ok(run.events.every((e) => typeof e.event === 'string'), 'stdout stays NDJSON only');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
