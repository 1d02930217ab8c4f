#!/usr/bin/env node
// The CLI is bundled (scripts/bundle.mjs): this file loads a few files, not the hundred modules
// oclif and the commands are made of; each command's code loads only when it runs.
import { main } from '../dist/bundle/main.js';

await main(import.meta.url);
