// Every membership error code is documented in docs/errors/membership.md, and no documented code is stale.
import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const codesIn = (text: string): Set<string> => new Set(text.match(/MESH_ERR_MEMBERSHIP_[A-Z_]+/g) ?? [])

t.test('error codes and their documentation match', async t => {
  const source = readdirSync(`${root}agent/membership`).map(file => readFileSync(`${root}agent/membership/${file}`, 'utf8')).join('\n')
  const used = codesIn(source)
  const documented = codesIn(readFileSync(`${root}docs/errors/membership.md`, 'utf8'))
  t.ok(used.size >= 6)
  t.same([...used].sort(), [...documented].sort())
})
