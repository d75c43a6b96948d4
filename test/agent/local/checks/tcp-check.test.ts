import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { TcpProbe, splitHostPort } from '../../../../agent/local/checks/tcp-check.ts'
import { closedPort } from './fixtures/ports.ts'

t.test('host:port forms', async t => {
  t.same(splitHostPort('127.0.0.1:80'), { host: '127.0.0.1', port: 80 })
  t.same(splitHostPort('[::1]:8080'), { host: '::1', port: 8080 })
  t.same(splitHostPort('localhost:1'), { host: 'localhost', port: 1 })
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:0', '127.0.0.1:70000', '::1:80']) {
    t.throws(() => splitHostPort(bad), /not host:port/, bad)
  }
})

t.test('a listening port is passing', async t => {
  const server = net.createServer(socket => socket.destroy())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  t.same(await new TcpProbe(address).check(new AbortController().signal), { status: 'passing', output: `TCP connect ${address}: Success` })
})

t.test('a closed port is critical with the connection error', async t => {
  const address = `127.0.0.1:${await closedPort()}`
  const result = await new TcpProbe(address).check(new AbortController().signal)
  t.equal(result.status, 'critical')
  t.match(result.output, `TCP connect ${address}: connect ECONNREFUSED`)
})

t.test('an aborted round reports the abort reason', async t => {
  const controller = new AbortController()
  controller.abort(new Error('check timed out after 10000ms'))
  const result = await new TcpProbe('127.0.0.1:9').check(controller.signal)
  t.same(result, { status: 'critical', output: 'TCP connect 127.0.0.1:9: check timed out after 10000ms' })
})
