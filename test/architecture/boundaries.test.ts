// The folders import only what docs/architecture.md's Boundaries table allows, and no source file
// takes part in an import cycle. The table is the test's source, so changing a boundary means
// changing the documented architecture first.

import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { cycles, importGraph, parseBoundaryTable, sourceFiles, specifiers, violations } from './import-graph.ts'

const root = new URL('../..', import.meta.url).pathname
const boundaries = parseBoundaryTable(readFileSync(join(root, 'docs/architecture.md'), 'utf8'))
const folders = boundaries.map((boundary) => boundary.folder.slice(0, -1))
const graph = importGraph(root, sourceFiles(root, folders))

/** Top-level folders that hold source but are not the project's code under the table. */
const NOT_SOURCE = new Set(['node_modules', 'test', 'docs', '.git', '.ci', '.tap'])

t.test('every top-level folder with source code has a row in the Boundaries table', async (t) => {
  const withSource = readdirSync(root).filter((name) => !NOT_SOURCE.has(name) && statSync(join(root, name)).isDirectory() &&
    sourceFiles(root, [name]).length > 0)
  t.same(withSource.filter((name) => !folders.includes(name)).sort(), [], 'folders missing from the table')
})

t.test('every folder in the table exists', async (t) => {
  t.same(folders.filter((folder) => !existsSync(join(root, folder))), [], 'folders named in the table but absent')
})

t.test('no file imports across a boundary the table forbids', async (t) => {
  const found = violations(graph, boundaries).map((violation) => `${violation.from} → ${violation.to}`)
  t.same(found, [], 'forbidden imports')
})

t.test('no import cycle among source files, type-only imports included', async (t) => {
  t.same(cycles(graph).map((component) => component.join(' ⇄ ')), [], 'import cycles')
})

t.test('only the process entry point builds the agent: nothing else imports agent/agent.ts', async (t) => {
  const importers = [...graph].filter(([, targets]) => targets.includes('agent/agent.ts')).map(([from]) => from)
  t.same(importers.filter((from) => from !== 'agent/run.ts'), [], 'files that reach the Agent object')
})

t.test('the checker itself: it sees every import form and flags what the table forbids', async (t) => {
  const text = [
    "import type { A } from '../catalog/a.ts'",
    "import '../agent/side-effect.ts'",
    "export { b } from './b.ts'",
    "const lazy = await import('../cli/c.ts')",
    "type M = typeof import('../ca/m.ts')",
    "const entry = new URL('../agent/run.ts', import.meta.url)",
    "import { x } from 'fastify'",
    "// import { y } from '../agent/in-a-comment.ts'",
    "const s = \"import { z } from '../agent/in-a-string.ts'\"",
  ].join('\n')
  t.same(specifiers('proxy/x.ts', text), ['../catalog/a.ts', '../agent/side-effect.ts', './b.ts', '../cli/c.ts', '../ca/m.ts', '../agent/run.ts'])

  const table = parseBoundaryTable('## Boundaries\n\n| folder | may import |\n|---|---|\n| `api/` | nothing |\n| `proxy/` | `api/` |\n| `cli/` | `api/`, `agent/run.ts` |\n| `agent/` | `api/`, `proxy/` |\n\n## Next\n| `x/` | `y/` |\n')
  t.same(table, [
    { folder: 'api/', allowed: [] },
    { folder: 'proxy/', allowed: ['api/'] },
    { folder: 'cli/', allowed: ['api/', 'agent/run.ts'] },
    { folder: 'agent/', allowed: ['api/', 'proxy/'] },
  ])
  const synthetic = new Map([
    ['proxy/a.ts', ['api/t.ts', 'proxy/b.ts', 'agent/x.ts']],
    ['cli/c.ts', ['agent/run.ts', 'agent/agent.ts']],
    ['agent/x.ts', ['proxy/a.ts', 'package.json']],
    ['api/t.ts', []],
  ])
  t.same(violations(synthetic, table), [{ from: 'proxy/a.ts', to: 'agent/x.ts' }, { from: 'cli/c.ts', to: 'agent/agent.ts' }])
  t.same(cycles(synthetic), [['agent/x.ts', 'proxy/a.ts']])
  t.same(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', []]])), [])
  t.same(cycles(new Map([['a.ts', ['a.ts']]])), [['a.ts']])
})
