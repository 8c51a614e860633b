import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { CallScreen, type CallScreenProps } from '../../../src/cli/ui/CallScreen.js';
import { KEY_BINDINGS } from '../../../src/cli/ui/keys.js';
import { ECHO_HINT } from '../../../src/cli/ui/NoticeLine.js';
import { FakeSession, zeroStats } from '../../helpers/fake-session.js';
import { waitFor } from './wait-for.js';

const ESC_KEY = '\x1b';

function mount(props: Partial<CallScreenProps> = {}, session = new FakeSession('apple-river')) {
  const hangups: number[] = [];
  const app = render(
    <CallScreen
      session={session}
      controls={session}
      modes={['blocks', 'symbols', 'ascii']}
      initialMode="blocks"
      onHangup={() => hangups.push(Date.now())}
      {...props}
    />,
  );
  const frame = () => app.lastFrame() ?? '';
  const lines = () => frame().split('\n');
  return { app, session, hangups, frame, lines };
}

async function press(app: ReturnType<typeof render>, key: string) {
  // Let effects (useInput's listener) attach before typing.
  await new Promise((resolve) => setTimeout(resolve, 20));
  app.stdin.write(key);
}

test('the screen fills the terminal: video area, notice row, two status rows at the bottom', async () => {
  const { app, lines, session } = mount();
  session.emit('peer-joined', { peer: {} });
  await waitFor(() => lines()[22]?.includes('peer live') ?? false, 'status bar');
  // ink-testing-library reports 100 columns and no rows: the 80x24 fallback gives 24 rows.
  assert.equal(lines().length, 24);
  assert.match(lines()[22], /apple-river/);
  assert.match(lines()[23], /rtt/);
  for (const line of lines().slice(0, 21)) assert.equal(line.trim(), '', 'video rows are left blank for the painter');
  app.unmount();
});

test('while waiting: a spinner and the session code in large letters', async () => {
  const { app, frame, session } = mount();
  session.emit('waiting', { session: 'apple-river' });
  await waitFor(() => frame().includes('Waiting for the other person'), 'waiting screen');
  assert.match(frame(), /█{2,}/, 'block letters');
  assert.match(frame(), /--session apple-river/);
  const first = frame().match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/)?.[0];
  assert.ok(first, 'a spinner glyph');
  await waitFor(() => frame().match(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/)?.[0] !== first, 'the spinner to move');
  app.unmount();
});

test('status bar: code, peer state incl. muted and camera off, fps, kbps, rtt, latency, mode, mic, camera, encryption', async () => {
  const { app, frame, session } = mount();
  session.emit('peer-joined', { peer: {} });
  session.emit('stats', zeroStats({ videoFpsIn: 14.6, videoFpsOut: 12, bytesReceived: 1000, bytesSent: 500, rttMs: 23.4, latencyMs: 91, encrypted: true }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  session.emit('stats', zeroStats({ videoFpsIn: 14.6, videoFpsOut: 12, bytesReceived: 41_000, bytesSent: 20_500, rttMs: 23.4, latencyMs: 91, encrypted: true }));
  session.emit('peer-state', { muted: true, cameraOff: true });
  await waitFor(() => frame().includes('peer muted, camera off'), 'peer state');
  const bar = frame().split('\n').slice(-2).join('\n');
  assert.match(bar, /apple-river/);
  assert.match(bar, /encrypted/);
  assert.doesNotMatch(bar, /NOT encrypted/);
  assert.match(bar, /blocks/);
  assert.match(bar, /mic on/);
  assert.match(bar, /camera on/);
  assert.match(bar, /in 15 fps \d+ kbps/);
  assert.match(bar, /out 12 fps \d+ kbps/);
  assert.match(bar, /rtt 23 ms/);
  assert.match(bar, /latency 91 ms/);
  // 40 kB in about 0.2 s is over 1000 kbit/s: a rate, not a counter.
  const kbpsIn = Number(/in 15 fps (\d+) kbps/.exec(bar)?.[1]);
  assert.ok(kbpsIn > 300, `kbps in ${kbpsIn}`);
  assert.match(frame(), /The peer turned the camera off/);
  session.emit('stats', zeroStats({ encrypted: false }));
  await waitFor(() => frame().includes('NOT encrypted'), 'unencrypted warning');
  app.unmount();
});

test('q and Ctrl-C hang up', async () => {
  const { app, hangups } = mount();
  await press(app, 'q');
  await waitFor(() => hangups.length === 1, 'hangup on q');
  await press(app, '\x03');
  await waitFor(() => hangups.length === 2, 'hangup on Ctrl-C');
  app.unmount();
});

test('m and v toggle mic and camera, tell the session and show it', async () => {
  const { app, frame, session } = mount();
  await press(app, 'm');
  await waitFor(() => frame().includes('mic muted'), 'mic muted');
  await press(app, 'v');
  await waitFor(() => frame().includes('camera off'), 'camera off');
  await press(app, 'm');
  await waitFor(() => frame().includes('mic on'), 'mic on again');
  assert.deepEqual(
    session.calls.map((c) => ('value' in c ? `${c.name}:${c.value}` : c.name)),
    ['setMuted:true', 'setCameraOff:true', 'setMuted:false'],
  );
  app.unmount();
});

test('v pressed twice before the screen re-renders turns the camera off and on again', async () => {
  const { app, frame, session } = mount();
  await press(app, 'v');
  // The second press reaches the key handler in the same tick, before React has rendered the
  // first one (a loaded machine): it must toggle back, not turn the camera off again.
  app.stdin.write('v');
  await press(app, 'm');
  app.stdin.write('m');
  await waitFor(() => session.calls.length === 4, 'four calls');
  assert.deepEqual(
    session.calls.map((c) => ('value' in c ? `${c.name}:${c.value}` : c.name)),
    ['setCameraOff:true', 'setCameraOff:false', 'setMuted:true', 'setMuted:false'],
  );
  await waitFor(() => frame().includes('camera on') && frame().includes('mic on'), 'camera and mic on');
  app.unmount();
});

test('r cycles the render modes and wraps around', async () => {
  const { app, frame } = mount();
  const modeShown = () => / (blocks|symbols|ascii) │ mic/.exec(frame())?.[1];
  assert.equal(modeShown(), 'blocks');
  for (const expected of ['symbols', 'ascii', 'blocks']) {
    await press(app, 'r');
    await waitFor(() => modeShown() === expected, `mode ${expected}`);
  }
  app.unmount();
});

test('? opens the help overlay, generated from the key table; ? or Esc closes it', async () => {
  const { app, frame, session } = mount();
  session.emit('peer-joined', { peer: {} });
  await press(app, '?');
  await waitFor(() => frame().includes('Keys'), 'help overlay');
  for (const binding of KEY_BINDINGS) {
    assert.ok(frame().includes(binding.label), `help lists ${binding.label}`);
    assert.ok(frame().includes(binding.help), `help explains ${binding.label}`);
  }
  await press(app, '?');
  await waitFor(() => !frame().includes('Keys'), 'help closed by ?');
  await press(app, '?');
  await waitFor(() => frame().includes('Keys'), 'help again');
  await press(app, ESC_KEY);
  await waitFor(() => !frame().includes('Keys'), 'help closed by Esc');
  app.unmount();
});

test('p toggles the self-view (the painter is told through the layout)', async () => {
  const layouts: boolean[] = [];
  const painter = { setLayout: (l: { selfView: boolean }) => layouts.push(l.selfView) } as unknown as CallScreenProps['painter'];
  const { app, session } = mount({ painter });
  session.emit('peer-joined', { peer: {} });
  await waitFor(() => layouts.at(-1) === true, 'self-view on by default');
  await press(app, 'p');
  await waitFor(() => layouts.at(-1) === false, 'self-view off');
  await press(app, 'p');
  await waitFor(() => layouts.at(-1) === true, 'self-view on again');
  app.unmount();
});

test('the headphones hint is said once, when the peer joins', async () => {
  const { app, frame, session } = mount();
  assert.ok(!frame().includes(ECHO_HINT));
  session.emit('peer-joined', { peer: {} });
  await waitFor(() => frame().includes('Tip: use headphones'), 'echo hint');
  app.unmount();
  const quiet = mount({ echoHint: false });
  quiet.session.emit('peer-joined', { peer: {} });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(!quiet.frame().includes('Tip: use headphones'));
  quiet.app.unmount();
});

test('a warning shows in the notice row', async () => {
  const { app, frame, session } = mount({ echoHint: false });
  session.emit('warning', { code: 'W_NO_CAMERA', message: 'no camera found, sending no video' });
  await waitFor(() => frame().includes('no camera found'), 'warning');
  app.unmount();
});

test('resize: the layout follows the new size, status bar at the new bottom', async () => {
  const { app, lines, session } = mount();
  session.emit('peer-joined', { peer: {} });
  await waitFor(() => lines().length === 24, 'first layout');
  Object.defineProperty(app.stdout, 'columns', { value: 60, configurable: true });
  Object.defineProperty(app.stdout, 'rows', { value: 12, configurable: true });
  app.stdout.emit('resize');
  await waitFor(() => lines().length === 12, 'new height');
  assert.match(lines()[10], /apple-river/);
  assert.match(lines()[11], /rtt/);
  for (const line of lines()) assert.ok([...line].length <= 60, `line fits 60 columns: ${line}`);
  app.unmount();
});
