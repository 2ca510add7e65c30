import { describe, expect, it } from 'vitest';
import { ARMS, cellArgs, checkExtraArgs, parsePlan, planCells, selectArms } from './sweep-plan.ts';

describe('parsePlan', () => {
  it('reads alphas with seed ranges, seeds added to the previous alpha, and refuses nonsense', () => {
    expect(parsePlan('0.5:1-5,0.1:1-3,iid:1-3')).toEqual([
      { alpha: '0.5', seeds: [1, 2, 3, 4, 5] }, { alpha: '0.1', seeds: [1, 2, 3] }, { alpha: 'iid', seeds: [1, 2, 3] },
    ]);
    expect(parsePlan('0.5:1,3,iid:2,0.5:7')).toEqual([{ alpha: '0.5', seeds: [1, 3, 7] }, { alpha: 'iid', seeds: [2] }]);
    expect(() => parsePlan('3,0.5:1')).toThrow(/no alpha/);
    expect(() => parsePlan('0:1')).toThrow(/alpha must be/);
    expect(() => parsePlan('0.5:5-2')).toThrow(/empty seed range/);
    expect(() => parsePlan('0.5:x')).toThrow(/N or N-M/);
  });
});

describe('arms', () => {
  it('selects by name in table order and names the known arms for an unknown one', () => {
    expect(selectArms(undefined).map((a) => a.name)).toEqual(ARMS.map((a) => a.name));
    expect(selectArms('centralised,fedavg-small').map((a) => a.name)).toEqual(['fedavg-small', 'centralised']);
    expect(() => selectArms('fedavg-small,fedprox')).toThrow(/unknown arm\(s\) fedprox; known: fedavg-small, heterofl/);
    expect(ARMS.find((a) => a.name === 'feddf-public')?.args).toEqual(['--strategy', 'feddf', '--feddf-data', 'public']);
  });
});

describe('planCells', () => {
  it('runs seed by seed, every arm of a seed first, and the bound once per seed in alpha-any at 0.5', () => {
    const cells = planCells(parsePlan('0.5:1-2,iid:1'), selectArms('fedtsa,centralised'));
    expect(cells.map((c) => c.path)).toEqual([
      'cells/alpha-0.5/seed-1/fedtsa', 'cells/alpha-any/seed-1/centralised',
      'cells/alpha-0.5/seed-2/fedtsa', 'cells/alpha-any/seed-2/centralised',
      'cells/alpha-iid/seed-1/fedtsa',
    ]);
    expect(cellArgs(cells[1]!, ['--preset', 'demo'])).toEqual(['--preset', 'default', '--alpha', '0.5', '--seed', '1', '--strategy', 'centralised', '--preset', 'demo']);
    expect(cellArgs(cells[4]!, [])).toEqual(['--preset', 'default', '--alpha', 'iid', '--seed', '1', '--strategy', 'fedtsa']);
  });

  it('keeps the flags that place a cell out of the extra args', () => {
    expect(() => checkExtraArgs(['--rounds', '2', '--preset', 'demo'])).not.toThrow();
    expect(() => checkExtraArgs(['--seed', '3'])).toThrow(/--seed/);
    expect(() => checkExtraArgs(['--out=x'])).toThrow(/--out/);
  });
});
