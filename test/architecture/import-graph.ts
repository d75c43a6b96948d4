// Reads the project's import graph and checks it against the boundary table of
// docs/architecture.md. Every edge counts: static and type-only imports, re-exports, dynamic
// `import()`, `typeof import()` types and `new URL('…', import.meta.url)` entry points (how the CLI
// loads the agent lazily), because a boundary broken only "for types" or only "lazily" is broken.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import ts from 'typescript'

export interface Boundary {
  /** Top-level folder, with its trailing slash: `proxy/`. */
  folder: string
  /** Folders (`api/`) and single files (`agent/run.ts`) this folder may import. */
  allowed: string[]
}

export interface Violation { from: string, to: string }

const SOURCE_FILE = /\.(ts|mts|mjs|js)$/

/** Parses the "may import" table under the `## Boundaries` heading. */
export function parseBoundaryTable (markdown: string): Boundary[] {
  const section = markdown.split(/^## Boundaries\s*$/m)[1]
  if (section === undefined) throw new Error('docs/architecture.md has no "## Boundaries" section')
  const boundaries: Boundary[] = []
  for (const line of section.split('\n')) {
    if (line.startsWith('## ')) break
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim())
    if (cells.length < 2) continue
    const folder = cells[0].match(/^`([a-z0-9-]+\/)`$/)?.[1]
    if (folder === undefined) continue
    const allowed = [...cells[1].matchAll(/`([^`]+)`/g)].map((match) => match[1])
    boundaries.push({ folder, allowed })
  }
  if (boundaries.length === 0) throw new Error('the Boundaries table has no rows')
  return boundaries
}

/** Every source file under `folders`, as paths relative to `root`. */
export function sourceFiles (root: string, folders: string[]): string[] {
  const walk = (dir: string): string[] => readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules') return []
    if (statSync(join(root, path)).isDirectory()) return walk(path)
    return SOURCE_FILE.test(name) ? [path] : []
  })
  return folders.filter((folder) => existsSync(join(root, folder))).flatMap((folder) => walk(folder)).sort()
}

/** The relative module specifiers a file refers to, in every form listed in the header. */
export function specifiers (fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, fileName.endsWith('.mjs') || fileName.endsWith('.js') ? ts.ScriptKind.JS : ts.ScriptKind.TS)
  const found: string[] = []
  const literal = (node: ts.Node | undefined): void => {
    if (node !== undefined && ts.isStringLiteralLike(node)) found.push(node.text)
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier)
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) literal(node.moduleReference.expression)
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) literal(node.arguments[0])
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal)
    else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' &&
      node.arguments?.length === 2 && node.arguments[1].getText(source) === 'import.meta.url') literal(node.arguments[0])
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found.filter((specifier) => specifier.startsWith('.'))
}

/** file → files it imports, both relative to the project root; edges leaving the root are dropped. */
export function importGraph (root: string, files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const targets = specifiers(file, readFileSync(join(root, file), 'utf8'))
      .map((specifier) => normalize(join(dirname(file), specifier)))
      .filter((target) => !target.startsWith('..') && !relative(root, join(root, target)).startsWith('..'))
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

function topFolder (path: string): string | undefined {
  const slash = path.indexOf('/')
  return slash === -1 ? undefined : path.slice(0, slash + 1)
}

/** Edges that leave a folder for one its row does not allow. Files outside any listed folder are not checked as targets. */
export function violations (graph: Map<string, string[]>, boundaries: Boundary[]): Violation[] {
  const rows = new Map(boundaries.map((boundary) => [boundary.folder, boundary.allowed]))
  const found: Violation[] = []
  for (const [from, targets] of graph) {
    const fromFolder = topFolder(from)
    const allowed = fromFolder === undefined ? undefined : rows.get(fromFolder)
    if (allowed === undefined) continue
    for (const to of targets) {
      const toFolder = topFolder(to)
      if (toFolder === undefined || toFolder === fromFolder || !rows.has(toFolder)) continue
      if (allowed.includes(toFolder) || allowed.includes(to)) continue
      found.push({ from, to })
    }
  }
  return found
}

/** Every elementary cycle's strongly connected component (Tarjan), each as a sorted list of files. */
export function cycles (graph: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const connect = (file: string): void => {
    index.set(file, counter)
    low.set(file, counter)
    counter++
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      if (!index.has(next)) {
        connect(next)
        low.set(file, Math.min(low.get(file)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    const selfLoop = (graph.get(file) ?? []).includes(file)
    if (component.length > 1 || selfLoop) components.push(component.sort())
  }
  for (const file of graph.keys()) if (!index.has(file)) connect(file)
  return components
}
