import t from 'tap'
import { ScriptProbe, statusForExitCode } from '../../../agent/checks/script-check.ts'
import { CheckTimeoutError } from '../../../agent/checks/errors.ts'

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
