// Every CA error code is documented in docs/errors/ca.md, and every documented code exists.
import t from 'tap'
import { readFileSync } from 'node:fs'
import * as errors from '../../ca/errors.ts'

t.test('docs/errors/ca.md and ca/errors.ts list the same codes', async t => {
  const source = readFileSync(new URL('../../ca/errors.ts', import.meta.url), 'utf8')
  const inCode = new Set([...source.matchAll(/'(MESH_ERR_CA_[A-Z_]+)'/g)].map(match => match[1]))
  const doc = readFileSync(new URL('../../docs/errors/ca.md', import.meta.url), 'utf8')
  const inDoc = new Set([...doc.matchAll(/`(MESH_ERR_CA_[A-Z_]+)`/g)].map(match => match[1]))
  t.same([...inCode].sort(), [...inDoc].sort())
  const classes = Object.values(errors).filter(value => typeof value === 'function' && value !== errors.CaError)
  t.equal(classes.length, inCode.size, 'one class per code')
  for (const name of Object.keys(errors).filter(name => name !== 'CaError')) t.match(doc, `\`${name}\``, `${name} is documented`)
})
