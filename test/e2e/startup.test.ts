// Start-up failures a user meets first: each is one clear line on stderr and exit code 1.

import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Cluster } from './harness.ts'

const MESH = new URL('../../cli/mesh.mjs', import.meta.url).pathname

async function runAgent (args: string[]): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [MESH, 'agent', 'start', '--bind', '127.0.0.1:0', '--http-port', '0', '--dns-port', '-1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stderr }
}

t.test('an HTTP port in use is one error line and exit 1', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const port = (blocker.address() as { port: number }).port
  const result = await runAgent(['--data-dir', cluster.tempDir(), '--http-port', String(port)])
  t.equal(result.code, 1)
  t.equal(result.stderr.trim(), `Error: HTTP port ${port} on 127.0.0.1 is already in use`)
})

t.test('a config file that is not JSON is one error line and exit 1', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const dir = cluster.tempDir()
  const file = join(dir, 'agent.json')
  writeFileSync(file, '{ "node_name": ')
  const result = await runAgent(['--data-dir', dir, '--config-file', file])
  t.equal(result.code, 1)
  t.match(result.stderr.trim(), /^Error: config file .*agent\.json is not valid JSON: .*$/)
  t.equal(result.stderr.trim().split('\n').length, 1)
})

t.test('a config file with an unknown key names it', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const dir = cluster.tempDir()
  const file = join(dir, 'agent.json')
  writeFileSync(file, JSON.stringify({ node_name: 'x', bogus: 1 }))
  const result = await runAgent(['--data-dir', dir, '--config-file', file])
  t.equal(result.code, 1)
  t.match(result.stderr, /unknown key "bogus"/)
})

t.test('a data dir that is a file is one error line and exit 1', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const file = join(cluster.tempDir(), 'not-a-dir')
  writeFileSync(file, 'x')
  const result = await runAgent(['--data-dir', file])
  t.equal(result.code, 1)
  t.match(result.stderr.trim(), /^Error: data dir .*not-a-dir is not usable: (EEXIST|ENOTDIR)$/)
})

t.test('no data dir without --dev is refused', async (t) => {
  const result = await runAgent([])
  t.equal(result.code, 1)
  t.match(result.stderr, /a data directory is required/)
})
