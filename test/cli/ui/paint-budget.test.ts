import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PaintBudget } from '../../../src/cli/ui/paint-budget.js';

test('PaintBudget: after a paint of d ms at share s, the next may start d / s ms after the first began', () => {
  let now = 1000;
  const budget = new PaintBudget(0.5, () => now);
  assert.ok(budget.waitMs() <= 0, 'the first paint may start at once');
  const result = budget.spend(() => {
    now += 30; // a 30 ms paint (a terminal swallowing a big frame)
    return 'painted';
  });
  assert.equal(result, 'painted');
  assert.equal(budget.waitMs(), 30, 'half of the time is left to the terminal');
  now += 30;
  assert.equal(budget.waitMs(), 0);
  // A paint that throws is charged too.
  assert.throws(() => budget.spend(() => { now += 10; throw new Error('write failed'); }), /write failed/);
  assert.equal(budget.waitMs(), 10);
  // At share 0.25 a 10 ms paint leaves 30 ms.
  const quarter = new PaintBudget(0.25, () => now);
  quarter.spend(() => { now += 10; });
  assert.equal(quarter.waitMs(), 30);
});

test('PaintBudget: a share outside (0, 1) is refused', () => {
  for (const share of [0, 1, -0.5, 2, Number.NaN]) assert.throws(() => new PaintBudget(share), RangeError);
});
