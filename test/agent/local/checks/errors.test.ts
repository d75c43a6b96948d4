// Every error code of the checks and local-registration areas is documented in
// docs/errors/checks.md, and every documented code still exists in the source (no stale rows).

import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

const root = new URL('../../../../', import.meta.url).pathname
const CODE = /MESH_ERR_(?:CHECKS|LOCAL)_[A-Z_]+/g

async function sourceText (): Promise<string> {
  const files: string[] = [join(root, 'agent/http/agent-service-routes.ts')]
  for (const folder of ['agent/local/checks', 'agent/local']) {
    for (const name of await readdir(join(root, folder))) if (name.endsWith('.ts')) files.push(join(root, folder, name))
  }
  return (await Promise.all(files.map(async file => await readFile(file, 'utf8')))).join('\n')
}

t.test('error codes in code and in docs/errors/checks.md are the same set', async t => {
  const inCode = new Set((await sourceText()).match(CODE))
  const documented = new Set((await readFile(join(root, 'docs/errors/checks.md'), 'utf8')).match(CODE))
  t.ok(inCode.size >= 9)
  t.same([...inCode].sort(), [...documented].sort())
})
