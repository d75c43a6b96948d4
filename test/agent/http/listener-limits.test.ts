// The HTTP API's listener behind the connection guard: a second connection from one client over
// `http_max_conns_per_client` is refused, a connection that sends nothing goes at the first-byte
// deadline (on an injected clock), and a client that speaks is served.

import t from 'tap'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

t.test('the API listener: per-client cap, first-byte deadline, and a served request', async (t) => {
  const clock = new ManualClock(0)
  const app = buildHttpServer({ clock, limits: { maxConnections: 10, maxConnectionsPerSource: 1, handshakeTimeoutMs: 5000, idleTimeoutMs: 60_000 } })
  app.get('/v1/ping', async () => 'pong')
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const { port } = app.server.address() as AddressInfo

  const silent = connect(port, '127.0.0.1')
  silent.on('error', () => {})
  await once(silent, 'connect')
  const second = connect(port, '127.0.0.1')
  second.on('error', () => {})
  await once(second, 'close')
  t.pass('a second connection from the same client is refused')
  t.notOk(silent.destroyed, 'the silent connection is kept before the deadline')
  const closed = once(silent, 'close')
  clock.advance(5000)
  await closed
  t.pass('the silent connection is closed at the first-byte deadline')

  const talking = connect(port, '127.0.0.1')
  talking.on('error', () => {})
  await once(talking, 'connect')
  talking.write('GET /v1/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  let answer = ''
  talking.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  await once(talking, 'close')
  t.match(answer, /^HTTP\/1\.1 200 OK[\s\S]*pong$/, 'once the slot is free, a client that speaks is served')
})
