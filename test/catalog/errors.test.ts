// Every error code the catalog area can raise is documented in docs/errors/catalog.md, and every
// documented code still exists in the source (no stale rows).

import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

const root = new URL('../../', import.meta.url).pathname
const sources = async (): Promise<string> => {
  const files = (await readdir(join(root, 'catalog'))).filter(name => name.endsWith('.ts')).map(name => join(root, 'catalog', name))
  files.push(join(root, 'agent/http/catalog-routes.ts'), join(root, 'agent/http/health-routes.ts'))
  return (await Promise.all(files.map(async file => await readFile(file, 'utf8')))).join('\n')
}

t.test('error codes in code and in docs/errors/catalog.md are the same set', async t => {
  const code = new Set((await sources()).match(/MESH_ERR_CATALOG_[A-Z_]+/g))
  const documented = new Set((await readFile(join(root, 'docs/errors/catalog.md'), 'utf8')).match(/MESH_ERR_CATALOG_[A-Z_]+/g))
  t.ok(code.size >= 8)
  t.same([...code].sort(), [...documented].sort())
})
