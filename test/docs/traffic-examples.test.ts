// Keeps docs/traffic.md (and README's canary) true: every ```json block marked `<!-- apply -->` is
// written to one real agent with PUT /v1/config and read back field by field, and a broken variant
// of one example is refused with 400 naming the field. A page with no marked block, or with a json
// block left unmarked, fails: an example nobody applies is an example that can rot.

import t from 'tap'
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { Cluster, http } from '../e2e/harness.ts'
import type { AgentProcess } from '../e2e/harness.ts'

const APPLY_MARK = '<!-- apply -->'

interface Example { file: string, line: number, entry: Record<string, unknown> }

/** The json blocks of a markdown file, each with whether the line before it is the apply mark. */
function jsonBlocks (file: string): Array<Example & { marked: boolean }> {
  const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n')
  const blocks: Array<Example & { marked: boolean }> = []
  for (let index = 0; index < lines.length; index++) {
    if (lines[index].trim() !== '```json') continue
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```')
    if (end === -1) throw new Error(`${file}:${index + 1}: json block is not closed`)
    const entry = JSON.parse(lines.slice(index + 1, end).join('\n')) as Record<string, unknown>
    blocks.push({ file, line: index + 1, entry, marked: lines[index - 1]?.trim() === APPLY_MARK })
    index = end
  }
  return blocks
}

/**
 * Fails `t` where `actual` lacks what `expected` gives: objects key by key, lists item by item,
 * except a list of named objects (intention Sources), matched by Name since the agent returns
 * them in evaluation order.
 */
function assertContains (t: Test, actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) { t.fail(`${path}: expected a list, got ${JSON.stringify(actual)}`); return }
    t.equal(actual.length, expected.length, `${path} has ${expected.length} items`)
    const byName = expected.every((item) => typeof item === 'object' && item !== null && typeof (item as { Name?: unknown }).Name === 'string')
    expected.forEach((item, index) => {
      const match = byName ? actual.find((candidate) => (candidate as { Name?: unknown }).Name === (item as { Name: string }).Name) : actual[index]
      assertContains(t, match, item, `${path}[${index}]`)
    })
  } else if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) { t.fail(`${path}: expected an object, got ${JSON.stringify(actual)}`); return }
    for (const [key, value] of Object.entries(expected)) assertContains(t, (actual as Record<string, unknown>)[key], value, `${path}.${key}`)
  } else {
    t.equal(actual, expected, path)
  }
}

const blocks = [...jsonBlocks('docs/traffic.md'), ...jsonBlocks('README.md')]
const examples = blocks.filter((block) => block.marked)

t.test('docs/traffic.md marks every json example for applying', async (t) => {
  t.ok(examples.some((example) => example.file === 'docs/traffic.md'), 'docs/traffic.md has examples to apply')
  for (const kind of ['service-defaults', 'proxy-defaults', 'service-resolver', 'service-splitter', 'service-router', 'service-intentions']) {
    t.ok(examples.some((example) => example.entry.Kind === kind), `an example of ${kind}`)
  }
  for (const block of blocks.filter((candidate) => !candidate.marked && candidate.file === 'docs/traffic.md')) {
    t.fail(`${block.file}:${block.line}: json block without ${APPLY_MARK} on the line before`)
  }
})

t.test('every example is accepted by a real agent and reads back as written', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => { await cluster.cleanup() })
  const agent: AgentProcess = await cluster.start({ name: 'docs-traffic' })

  for (const example of examples) {
    const { Kind: kind, Name: name } = example.entry as { Kind: string, Name: string }
    const where = `${example.file}:${example.line} ${kind}/${name}`
    const put = await http(agent, 'PUT', '/v1/config', example.entry)
    t.equal(put.status, 200, `${where} is accepted${put.status === 200 ? '' : `: ${put.text}`}`)
    t.equal(put.body, true, `${where} is written`)
    const get = await http(agent, 'GET', `/v1/config/${kind}/${name}`)
    t.equal(get.status, 200, `${where} reads back`)
    assertContains(t, get.body, example.entry, where)
  }

  const splitter = examples.find((example) => example.entry.Kind === 'service-splitter' && example.entry.Name === 'checkout')
  if (splitter === undefined) throw new Error('the canary splitter (checkout) is missing from docs/traffic.md')
  const splits = splitter.entry.Splits as Array<Record<string, unknown>>
  const broken = { ...splitter.entry, Splits: [splits[0], { ...splits[1], Weight: 101 }] }
  const refused = await http(agent, 'PUT', '/v1/config', broken)
  t.equal(refused.status, 400, 'a weight over 100 is refused')
  t.match(refused.text, /Splits\[1\]\.Weight must be a number from 0 to 100/, 'the answer names the field')
  const unchanged = await http(agent, 'GET', '/v1/config/service-splitter/checkout')
  assertContains(t, unchanged.body, splitter.entry, 'the refused write changed nothing')

  const router = examples.find((example) => example.entry.Kind === 'service-router' && example.entry.Name === 'api')
  if (router === undefined) throw new Error('the router example (api) is missing from docs/traffic.md')
  const routes = router.entry.Routes as Array<{ Match: { HTTP: Record<string, unknown> } }>
  const twoPaths = { ...router.entry, Routes: [{ ...routes[0], Match: { HTTP: { ...routes[0]!.Match.HTTP, PathExact: '/v2' } } }] }
  const refusedRouter = await http(agent, 'PUT', '/v1/config', twoPaths)
  t.equal(refusedRouter.status, 400, 'a route with two path matchers is refused')
  t.match(refusedRouter.text, /Route\[0\] should only contain at most one of PathExact, PathPrefix, or PathRegex/, 'the answer names the route')
  const tcp = await http(agent, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'ledger', Protocol: 'tcp' })
  t.equal(tcp.status, 200)
  const toTcp = await http(agent, 'PUT', '/v1/config', { ...router.entry, Routes: [{ Destination: { Service: 'ledger' } }] })
  t.equal(toTcp.status, 400, 'a route to a tcp service is refused')
  t.match(toTcp.text, /discovery chain "ledger" uses a protocol "tcp" that does not permit advanced routing/)
  const routerUnchanged = await http(agent, 'GET', '/v1/config/service-router/api')
  assertContains(t, routerUnchanged.body, router.entry, 'the refused writes changed nothing')
})
