#!/usr/bin/env node
// Entry point of the `mesh` command (package.json "bin"). It only switches on Node's compile
// cache, which keeps the type-stripped and compiled modules between runs (as npm does for
// itself): that halves the start-up time of client commands such as `mesh members`, and an agent
// whose modules all come from the cache never loads the type stripper (about 16 MB of memory).
// This file is plain JavaScript so that it is not itself stripped. The commands are in program.ts.

import { enableCompileCache } from 'node:module'

enableCompileCache()
const { main } = await import('./program.ts')
await main(process.argv)
