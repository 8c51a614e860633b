import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, ConnectionCounter, LogThrottle, RateLimiter } from '../../src/daemon/limits.js';

test('addressKey: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64', () => {
  assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'));
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey(undefined), '?');
});

test('RateLimiter: a burst of one second, then the refill rate; 0 is no limit; full buckets are pruned', () => {
  const r = new RateLimiter(5);
  const t = 1_000_000;
  for (let i = 0; i < 5; i++) assert.ok(r.take('a', t), `burst ${i}`);
  assert.equal(r.take('a', t), false);
  assert.ok(r.take('b', t), 'another key has its own bucket');
  assert.equal(r.take('a', t + 100), false, '0.5 token after 100 ms');
  assert.ok(r.take('a', t + 200), 'one token after 200 ms');
  r.prune(t + 500);
  assert.equal(r.size, 1, "b refilled and is forgotten; a is still short");
  r.prune(t + 2000);
  assert.equal(r.size, 0);
  const off = new RateLimiter(0);
  for (let i = 0; i < 1000; i++) assert.ok(off.take('a', t));
});

test('ConnectionCounter: refuses at the cap, counts nothing for a refusal, frees on release', () => {
  const c = new ConnectionCounter(2);
  assert.ok(c.acquire('a'));
  assert.ok(c.acquire('a'));
  assert.equal(c.acquire('a'), false);
  assert.equal(c.count('a'), 2);
  c.release('a');
  assert.ok(c.acquire('a'));
  c.release('a');
  c.release('a');
  assert.equal(c.count('a'), 0);
  const off = new ConnectionCounter(0);
  for (let i = 0; i < 1000; i++) assert.ok(off.acquire('a'));
});

test('LogThrottle: N per second per key, the held-back count reported when the next window opens', () => {
  const th = new LogThrottle(3);
  const t = 5_000_000;
  const shown = Array.from({ length: 10 }, () => th.admit('E_X', t).show).filter(Boolean).length;
  assert.equal(shown, 3);
  assert.deepEqual(th.admit('E_Y', t), { show: true, suppressedBefore: 0 });
  assert.deepEqual(th.admit('E_X', t + 1000), { show: true, suppressedBefore: 7 });
  for (let i = 0; i < 5; i++) th.admit('E_X', t + 1000);
  assert.deepEqual(th.flush(t + 2500), [{ key: 'E_X', suppressed: 3 }]);
  assert.deepEqual(th.flush(t + 2500), []);
});
