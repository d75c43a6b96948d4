// Every error code in the source is documented in docs/errors/, and every documented code exists.

import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const CODE = /MESH_ERR_[A-Z0-9_]*[A-Z0-9]/g

function files (dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path, suffix)
    return path.endsWith(suffix) ? [path] : []
  })
}

const inSource = new Set<string>()
for (const folder of ['api', 'agent', 'catalog', 'ca', 'proxy', 'cli']) {
  for (const file of files(join(root, folder), '.ts')) {
    for (const match of readFileSync(file, 'utf8').matchAll(CODE)) inSource.add(match[0])
  }
}
const documented = new Set<string>()
for (const file of files(join(root, 'docs/errors'), '.md')) {
  for (const match of readFileSync(file, 'utf8').matchAll(/`(MESH_ERR_[A-Z0-9_]+)`/g)) documented.add(match[1])
}
// Prefixes used to build codes (e.g. `MESH_ERR_CATALOG_` + name) are not codes themselves.
const prefixes = new Set([...inSource].filter((code) => [...inSource].some((other) => other !== code && other.startsWith(code + '_'))))

t.test('every error code in the source is documented', async (t) => {
  const missing = [...inSource].filter((code) => !documented.has(code) && !prefixes.has(code)).sort()
  t.same(missing, [], 'undocumented codes')
})

t.test('no documented error code is stale', async (t) => {
  const stale = [...documented].filter((code) => !inSource.has(code)).sort()
  t.same(stale, [], 'documented codes that no source file uses')
})
