// A caller closing its keep-alive connection before the answer is normal: the sidecar cancels the
// upstream exchange and logs it at DEBUG, never at ERROR (it used to log "unexpected error in
// outbound stack err=caller closed the connection" for each one).
import { connect } from 'node:net'
import t from 'tap'
import { CallerClosedError } from '../../proxy/errors.ts'
import { respondLayer } from '../../proxy/layers/respond.ts'
import { captureLogger, LEVEL } from '../fixtures/log-capture.ts'
import { startTopology } from './fixtures/topology.ts'
import { fakeRequest, scriptedNext } from './fixtures/layer.ts'

/** A line about a caller close, at whatever level, in its message or its error. */
const mentionsClose = (line: { msg: string }): boolean => JSON.stringify(line).includes('caller closed the connection')

async function until (what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

t.test('the respond layer reports a caller close to onCallerClosed, not onUnexpected', async t => {
  const unexpected: unknown[] = []
  const closed: unknown[] = []
  const layer = respondLayer({ onUnexpected: (error) => { unexpected.push(error) }, onCallerClosed: (error) => { closed.push(error) } })
  const response = await layer(scriptedNext(new CallerClosedError()))(fakeRequest())
  t.equal(response.headers['x-mesh-error'], 'MESH_ERR_PROXY_CALLER_CLOSED')
  t.equal(closed.length, 1)
  t.same(unexpected, [])
})

t.test('a caller closing a keep-alive connection mid-request is logged at DEBUG, not ERROR', async t => {
  const { log, lines } = captureLogger('debug')
  const mesh = await startTopology({ webInit: { log } })
  t.teardown(() => mesh.stop())
  let arrived = 0
  for (const app of mesh.apiApps) {
    app.delayMs = 1000
    app.onRequest = () => { arrived++ }
  }
  for (let i = 0; i < 3; i++) {
    const caller = connect({ host: '127.0.0.1', port: mesh.port })
    await new Promise<void>((resolve, reject) => { caller.once('connect', resolve); caller.once('error', reject) })
    caller.write('GET /slow HTTP/1.1\r\nHost: api\r\nConnection: keep-alive\r\n\r\n')
    await until('the request to reach the app', () => arrived === i + 1)
    caller.destroy()
    await until('the sidecar to log that the caller left', () => lines.filter(mentionsClose).length === i + 1)
  }
  const errors = lines.filter(line => line.level >= LEVEL.error)
  t.same(errors, [], 'nothing at ERROR')
  const closes = lines.filter(mentionsClose)
  t.equal(closes.length, 3, 'one line per closed request')
  t.ok(closes.every(line => line.level === LEVEL.debug && line.stack === 'outbound'), 'each at DEBUG, naming the stack')
})
