import { r1 } from './r1-load.js';
import { r2 } from './r2-guest-faults.js';
import { r3 } from './r3-registry-faults.js';
import { r4 } from './r4-cache-processes.js';
import { r5 } from './r5-manifest-fuzz.js';
import { r6 } from './r6-sandbox.js';
import { r7 } from './r7-credentials.js';
import { r8 } from './r8-durability.js';
import type { Suite } from './suite.js';

/** Every suite, in the order they run. */
export const SUITES: readonly Suite[] = [r1, r2, r3, r4, r5, r6, r7, r8];
