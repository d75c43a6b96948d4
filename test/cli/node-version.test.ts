// cli/mesh.mjs run by a Node older than the pinned 24 (a machine's own `node`) says what it needs
// in one line and exits 1, instead of dying on a SyntaxError from code that Node cannot parse.

import { execFile, execFileSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import t from 'tap'
import { MESH_BIN } from './fixtures/run-cli.ts'

t.setTimeout(60_000)

/** The first `node` on PATH, outside node_modules (the pinned one), whose major version is below 24. */
function findOldNode (): { path: string, version: string } | undefined {
  const seen = new Set<string>()
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node')
    if (dir.includes('node_modules') || !existsSync(candidate)) continue
    const real = realpathSync(candidate)
    if (seen.has(real)) continue
    seen.add(real)
    const version = execFileSync(real, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '')
    if (Number(version.split('.')[0]) < 24) return { path: real, version }
  }
  return undefined
}

const oldNode = findOldNode()

t.test('an older Node gets one line naming the version needed, and exit 1', {
  skip: oldNode === undefined ? 'no Node.js older than 24 on PATH outside node_modules, so nothing to run mesh.mjs with' : false,
}, async t => {
  const { path, version } = oldNode!
  const result = await new Promise<{ code: number | null, stdout: string, stderr: string }>(resolve => {
    execFile(path, [MESH_BIN, 'members'], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.equal(result.stderr, `mesh needs Node.js 24 or newer (this is ${version}); run it as \`npx mesh …\` from the project, ` +
    'which uses the pinned Node 24, or with node_modules/node/bin/node\n')
})
