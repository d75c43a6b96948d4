#!/usr/bin/env node
// Entry point of the `mesh` command (package.json "bin"). It only switches on Node's compile
// cache, which keeps the type-stripped and compiled CLI modules between runs (as npm does for
// itself): that halves the start-up time of client commands such as `mesh members`. The
// commands themselves are in program.ts.

import { enableCompileCache } from 'node:module'

enableCompileCache()
const { main } = await import('./program.ts')
await main(process.argv)
