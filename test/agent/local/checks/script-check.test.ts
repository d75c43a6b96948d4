import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { ScriptProbe, statusForExitCode } from '../../../../agent/local/checks/script-check.ts'
import { CheckTimeoutError } from '../../../../agent/local/checks/errors.ts'

const node = (code: string): string[] => [process.execPath, '-e', code]

t.test('status rules: exit 0 passing, 1 warning, anything else critical', async t => {
  t.same([0, 1, 2, 127, null].map(statusForExitCode), ['passing', 'warning', 'critical', 'critical', 'critical'])
})

for (const [exitCode, status] of [[0, 'passing'], [1, 'warning'], [2, 'critical']] as const) {
  t.test(`a script exiting ${exitCode} is ${status}, with its stdout and stderr as output`, async t => {
    const result = await new ScriptProbe(node(`process.stdout.write('out;'); process.stderr.write('err'); process.exitCode = ${exitCode}`))
      .check(new AbortController().signal)
    t.equal(result.status, status)
    t.equal(result.output, 'out;err')
  })
}

t.test('arguments reach the program as they are, without a shell', async t => {
  const result = await new ScriptProbe([...node('process.stdout.write(JSON.stringify(process.argv.slice(1)))'), '$HOME', 'a b;c'])
    .check(new AbortController().signal)
  t.same(JSON.parse(result.output), ['$HOME', 'a b;c'])
})

t.test('output is capped at 4 KiB, keeping the tail', async t => {
  const result = await new ScriptProbe(node("process.stdout.write('x'.repeat(20000) + 'LAST LINE')")).check(new AbortController().signal)
  t.ok(result.output.startsWith('Captured 4096 of 20009 bytes'))
  t.ok(result.output.endsWith('LAST LINE'))
})

t.test('a timed out script is killed and critical', async t => {
  const controller = new AbortController()
  const pending = new ScriptProbe(node('setInterval(() => {}, 1000)')).check(controller.signal)
  controller.abort(new CheckTimeoutError(30_000))
  t.same(await pending, { status: 'critical', output: 'Timed out (30s) running check' })
})

t.test('a program that cannot start is critical', async t => {
  const result = await new ScriptProbe(['/nonexistent/mesh-check']).check(new AbortController().signal)
  t.equal(result.status, 'critical')
  t.match(result.output, /failed to run \/nonexistent\/mesh-check: .*ENOENT/)
})

t.test('a timeout also kills the processes the script started', async t => {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  // The script starts a helper that connects back to the test and would run forever.
  const helper = `require('node:net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000)`
  const script = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(helper)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`
  const controller = new AbortController()
  const helperConnected = new Promise<net.Socket>(resolve => server.once('connection', resolve))
  const pending = new ScriptProbe(node(script)).check(controller.signal)
  const socket = await helperConnected
  const helperGone = new Promise<void>(resolve => socket.once('close', () => resolve()))
  socket.resume()
  controller.abort(new CheckTimeoutError(5000))
  t.same(await pending, { status: 'critical', output: 'Timed out (5s) running check' })
  await helperGone
  t.pass('the helper died with the script')
})
