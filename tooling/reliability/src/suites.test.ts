import { describe, expect, it } from 'vitest';
import { resultLine } from './suite.js';
import { SUITES } from './suites.js';

// CI runs the short profile of every suite; `pnpm test:reliability` runs the full ones.
describe('reliability suites (short profile)', () => {
  for (const suite of SUITES) {
    it(`${suite.id} ${suite.title}`, async () => {
      const r = await suite.run('short');
      console.log(resultLine(r));
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
    });
  }
});
