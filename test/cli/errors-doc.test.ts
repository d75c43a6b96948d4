// Every CLI error code is documented in docs/errors/cli.md, and every documented code exists.
import { readFileSync } from 'node:fs'
import t from 'tap'
import * as errors from '../../cli/errors.ts'

t.test('docs/errors/cli.md and cli/errors.ts list the same codes, one class per code', async t => {
  const source = readFileSync(new URL('../../cli/errors.ts', import.meta.url), 'utf8')
  const inCode = new Set([...source.matchAll(/'(MESH_ERR_CLI_[A-Z_]+)'/g)].map(match => match[1]))
  const doc = readFileSync(new URL('../../docs/errors/cli.md', import.meta.url), 'utf8')
  const inDoc = new Set([...doc.matchAll(/`(MESH_ERR_CLI_[A-Z_]+)`/g)].map(match => match[1]))
  t.same([...inCode].sort(), [...inDoc].sort())
  const classes = Object.entries(errors).filter(([name, value]) => typeof value === 'function' && name !== 'CliError' && name !== 'oneLine')
  t.equal(classes.length, inCode.size, 'one class per code')
  for (const [name] of classes) t.match(doc, `\`${name}\``, `${name} is documented`)
})

t.test('oneLine folds a multi-line agent message into one line', async t => {
  t.equal(errors.oneLine('a:\n  b\r\n c\n'), 'a: b c')
})
