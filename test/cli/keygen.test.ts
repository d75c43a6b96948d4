import t from 'tap'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

t.test('keygen prints 32 random bytes as base64 on one line, different every time', async t => {
  const first = await runCli(['keygen'])
  const second = await runCli(['keygen'])
  t.equal(first.code, 0)
  t.equal(first.stderr, '')
  t.match(first.stdout, /^[A-Za-z0-9+/]{43}=\n$/)
  t.equal(Buffer.from(first.stdout.trim(), 'base64').length, 32)
  t.not(first.stdout, second.stdout)
})

t.test('keygen needs no agent: it works with an unreachable MESH_HTTP_ADDR', async t => {
  const result = await runCli(['keygen'], { httpAddr: 'http://127.0.0.1:1' })
  t.equal(result.code, 0)
})
