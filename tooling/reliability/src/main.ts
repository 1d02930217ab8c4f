/**
 * `pnpm test:reliability`: runs the suites (all, or those named: `R3 R5`) in the full profile
 * (`--profile short` for the CI one) and prints one line per suite with its figure. Exits 1
 * when any suite fails.
 */
import { SUITES } from './suites.js';
import { resultLine } from './suite.js';
import type { Profile } from './suite.js';

const args = process.argv.slice(2);
const at = args.indexOf('--profile');
const profile: Profile = at >= 0 && args[at + 1] === 'short' ? 'short' : 'full';
const named = args.filter((a, i) => /^R\d$/i.test(a) && args[i - 1] !== '--profile').map((a) => a.toUpperCase());
const chosen = named.length === 0 ? SUITES : SUITES.filter((s) => named.includes(s.id));

let failed = 0;
for (const suite of chosen) {
  try {
    const r = await suite.run(profile);
    if (!r.ok) failed++;
    process.stdout.write(`${resultLine(r)}\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`${suite.id} ${suite.title}: FAIL — could not run: ${(err as Error).stack ?? String(err)}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
