#!/usr/bin/env -S node --max-semi-space-size=1
// Entry point of the `mesh` command (package.json "bin"). It checks the Node version, then
// switches on Node's compile cache, which keeps the type-stripped and compiled modules between
// runs (as npm does for itself): that halves the start-up time of client commands such as
// `mesh members`, and an agent whose modules all come from the cache never loads the type
// stripper (about 16 MB of memory). The commands are in program.ts.
// This file is plain JavaScript that any Node parses, and it imports nothing before the version
// check: an older Node (a machine's own `node`, where the project pins 24) would otherwise die on
// a SyntaxError (no enableCompileCache export, or TypeScript it cannot strip) instead of saying
// what it needs.
// The first line gives V8 a 1 MB young-generation semi-space: an agent's allocation rate is low,
// and V8's default lets the young generation grow to tens of MB, about 30 MB more resident memory
// per agent (150 MB against 120 MB for an idle agent) for no measurable gain. V8 reads the flag
// only at start-up, so `node cli/mesh.mjs` must be given it too (package.json's `npm start`
// does; the container image runs this file through its first line).

const MIN_NODE_MAJOR = 24

if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) {
  process.stderr.write(`mesh needs Node.js ${MIN_NODE_MAJOR} or newer (this is ${process.versions.node}); ` +
    `run it as \`npx mesh …\` from the project, which uses the pinned Node ${MIN_NODE_MAJOR}, or with node_modules/node/bin/node\n`)
  process.exitCode = 1
} else {
  const { enableCompileCache } = await import('node:module')
  enableCompileCache()
  const { main } = await import('./program.ts')
  await main(process.argv)
}
