#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point of the `mesh` command (package.json "bin"). It only switches on Node's compile
// cache, which keeps the type-stripped and compiled modules between runs (as npm does for
// itself): that halves the start-up time of client commands such as `mesh members`, and an agent
// whose modules all come from the cache never loads the type stripper (about 16 MB of memory).
// This file is plain JavaScript so that it is not itself stripped. The commands are in program.ts.
// The first line gives V8 a 1 MB young-generation semi-space: an agent's allocation rate is low,
// and V8's default lets the young generation grow to tens of MB, about 30 MB more resident memory
// per agent (150 MB against 120 MB for an idle agent) for no measurable gain. V8 reads the flag
// only at start-up, so `node cli/mesh.mjs` must be given it too (package.json, docker-compose.yml).

import { enableCompileCache } from 'node:module'

enableCompileCache()
const { main } = await import('./program.ts')
await main(process.argv)
