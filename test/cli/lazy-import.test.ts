import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { ModuleMissingError } from '../../cli/errors.ts'
import { importEntryPoint } from '../../cli/lazy-import.ts'

t.test('a missing entry point is reported as "not available in this installation"', async t => {
  const url = pathToFileURL(join(t.testdir({}), 'proxy', 'standalone.ts'))
  await t.rejects(importEntryPoint(url, 'the standalone proxy'), ModuleMissingError)
  await t.rejects(importEntryPoint(url, 'the standalone proxy'),
    { code: 'MESH_ERR_CLI_MODULE_MISSING', message: /^the standalone proxy is not available in this installation \(.*standalone\.ts is missing\)$/ })
})

t.test('a missing module inside an existing entry point keeps its own error: that is a bug, not an absent feature', async t => {
  const dir = t.testdir({ 'entry.mjs': "import './not-there.mjs'\nexport const x = 1\n" })
  await t.rejects(importEntryPoint(pathToFileURL(join(dir, 'entry.mjs')), 'x'), { code: 'ERR_MODULE_NOT_FOUND', message: /not-there\.mjs/ })
})

t.test('an existing entry point is returned as its module namespace', async t => {
  const dir = t.testdir({ 'entry.mjs': 'export function run () { return 42 }\n' })
  const module = await importEntryPoint<{ run (): number }>(pathToFileURL(join(dir, 'entry.mjs')), 'x')
  t.equal(module.run(), 42)
})
