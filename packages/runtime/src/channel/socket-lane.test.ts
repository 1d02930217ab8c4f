import { Script, createContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { closeLane, createLaneGuard, laneClosed, laneHeld, releaseAbandonedLanes } from './socket-lane.js';

describe('socket lane guard', () => {
  it('is left busy by a guest stopped at its deadline inside a lane call, until the worker releases what it abandoned', () => {
    const guard = createLaneGuard();
    // What serve-http.ts does with a guest past its deadline: a node:vm timeout stops it, and
    // its `finally` blocks (laneHeld's among them) never run.
    const context = createContext({ run: () => laneHeld(guard, () => { for (;;); }) });
    expect(() => new Script('run()').runInContext(context, { timeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_SCRIPT_EXECUTION_TIMEOUT' }));
    // Still busy: the main thread's close would now wait its full second.
    expect(laneHeld(guard, () => 'ran')).toBeUndefined();

    releaseAbandonedLanes();
    const started = Date.now();
    closeLane(guard);
    expect(Date.now() - started).toBeLessThan(500);
    expect(laneClosed(guard)).toBe(true);
    expect(laneHeld(guard, () => 'ran')).toBeUndefined();
  });

  it('leaves a guard that is not held alone', () => {
    const guard = createLaneGuard();
    expect(laneHeld(guard, () => 'ran')).toBe('ran');
    releaseAbandonedLanes();
    expect(laneHeld(guard, () => 'again')).toBe('again');
    closeLane(guard);
    expect(laneClosed(guard)).toBe(true);
  });
});
