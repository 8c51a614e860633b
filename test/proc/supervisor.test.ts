import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Supervisor, describeDeath, type ProcessDeath } from '../../src/proc/supervisor.js';

const node = process.execPath;

test('a missing binary is a failed start with the spawn error', async () => {
  const sup = new Supervisor({ name: 'nope', spawn: () => spawn('/nonexistent/binary-xyz', [], { stdio: 'pipe' }) });
  const gaveUp = once(sup, 'gave-up');
  sup.start();
  const [death] = (await gaveUp) as [ProcessDeath];
  assert.equal(death.failedStart, true);
  assert.match(death.spawnError?.message ?? '', /ENOENT/);
  assert.match(describeDeath(death), /nope could not start/);
});

test('a child that dies at once is a failed start and its stderr is reported', async () => {
  const sup = new Supervisor({
    name: 'crasher',
    spawn: () => spawn(node, ['-e', 'console.error("line one"); console.error("bad device"); process.exit(3)'], { stdio: 'pipe' }),
  });
  const gaveUp = once(sup, 'gave-up');
  sup.start();
  const [death] = (await gaveUp) as [ProcessDeath];
  assert.equal(death.failedStart, true);
  assert.equal(death.code, 3);
  assert.deepEqual(death.stderrTail, ['line one', 'bad device']);
  assert.equal(describeDeath(death), 'crasher exited with code 3 during startup: bad device');
});

test('a later death is not a failed start and is restarted with backoff', async () => {
  let spawns = 0;
  const sup = new Supervisor({
    name: 'flaky',
    startupGraceMs: 50,
    restart: { maxRestarts: 2, initialDelayMs: 20 },
    spawn: () => {
      spawns++;
      return spawn(node, ['-e', 'setTimeout(() => process.exit(1), 200)'], { stdio: 'pipe' });
    },
  });
  const deaths: ProcessDeath[] = [];
  const delays: number[] = [];
  sup.on('died', (d) => deaths.push(d));
  sup.on('restarting', (_a, delay) => delays.push(delay));
  const gaveUp = once(sup, 'gave-up');
  sup.start();
  await gaveUp;
  assert.equal(spawns, 3);
  assert.equal(deaths.length, 3);
  assert.ok(deaths.every((d) => !d.failedStart));
  assert.deepEqual(delays, [20, 40]);
});

test('close() is idempotent, kills a child that ignores SIGTERM, and never restarts', async () => {
  let spawns = 0;
  const sup = new Supervisor({
    name: 'stubborn',
    killAfterMs: 200,
    restart: { maxRestarts: 5 },
    spawn: () => {
      spawns++;
      return spawn(node, ['-e', 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'], { stdio: 'pipe' });
    },
  });
  const spawned = once(sup, 'spawn');
  sup.start();
  await spawned;
  const child = sup.child!;
  // Only once the child has installed its SIGTERM handler does close() have to escalate.
  await once(child.stdout!, 'data');
  const p1 = sup.close();
  const p2 = sup.close();
  assert.equal(p1, p2);
  await p1;
  assert.equal(child.signalCode, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(spawns, 1);
  assert.equal(sup.child, undefined);
});
