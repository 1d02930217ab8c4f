#!/usr/bin/env node
import { main } from '../dist/main.js';

// Exit explicitly: pooled connections or timers must not keep a drained runner alive.
process.exit(await main(process.argv.slice(2)));
