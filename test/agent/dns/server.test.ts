// DnsServer's lifecycle, answer cache and TCP transport: same port for UDP and TCP, catalog changes
// visible in the next answer (with and without a version counter), several queries per TCP
// connection, idle connections closed, connections over the limit refused.

import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { Resolver } from 'node:dns/promises'
import dnsPacket from 'dns-packet'
import type { DnsCatalogView } from '../../../agent/dns/view.ts'
import { DnsServer } from '../../../agent/dns/server.ts'
import { askTcp, askUdp, decode, MemoryView, query, startServer } from './fixture.ts'

function catalog (): MemoryView {
  const view = new MemoryView()
  view.addNode('alpha', '10.0.0.1')
  view.addService('web', 'alpha')
  return view
}

t.test('start binds UDP and TCP on one port; stop frees it', async (t) => {
  const server = new DnsServer({ view: catalog(), port: 0 })
  const { udpPort, tcpPort } = await server.start()
  t.equal(udpPort, tcpPort)
  await t.rejects(server.start(), { code: 'MESH_ERR_DNS_BIND_FAILED' }, 'a second start is refused')
  await server.stop()
  const again = new DnsServer({ view: catalog(), port: udpPort })
  t.same(await again.start(), { udpPort, tcpPort: udpPort }, 'the same port binds again after stop')
  const clash = new DnsServer({ view: catalog(), port: udpPort })
  await t.rejects(clash.start(), { code: 'MESH_ERR_DNS_BIND_FAILED', systemCode: 'EADDRINUSE' }, 'a taken port is a bind error')
  await again.stop()
})

t.test('bad options are config errors', async (t) => {
  const view = catalog()
  t.throws(() => new DnsServer({ view, port: 70000 }), { code: 'MESH_ERR_DNS_INVALID_CONFIG' })
  t.throws(() => new DnsServer({ view, nodeTtlS: -1 }), { code: 'MESH_ERR_DNS_INVALID_CONFIG' })
  t.throws(() => new DnsServer({ view, serviceTtlOverrides: { web: Number.NaN } }), { code: 'MESH_ERR_DNS_INVALID_CONFIG' })
  t.throws(() => new DnsServer({ view, recursors: ['resolver.example'] }), { code: 'MESH_ERR_DNS_INVALID_CONFIG' })
  t.throws(() => new DnsServer({ view, domain: '.' }), { code: 'MESH_ERR_DNS_INVALID_CONFIG' })
})

t.test('a catalog change is visible in the next answer', async (t) => {
  const view = catalog()
  const { server, port } = await startServer(view)
  t.teardown(() => server.stop())
  const resolver = new Resolver({ timeout: 1000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  t.same(await resolver.resolve4('web.service.consul'), ['10.0.0.1'])
  view.addNode('beta', '10.0.0.2')
  view.addService('web', 'beta')
  t.same((await resolver.resolve4('web.service.consul')).sort(), ['10.0.0.1', '10.0.0.2'], 'new instance answered')
  view.services[0]!.status = 'critical'
  view.changes++
  t.same(await resolver.resolve4('web.service.consul'), ['10.0.0.2'], 'instance turned critical is gone')
  await t.rejects(resolver.resolve4('api.service.consul'), { code: 'ENOTFOUND' })
  view.addService('api', 'beta')
  t.same(await resolver.resolve4('api.service.consul'), ['10.0.0.2'], 'a cached NXDOMAIN does not outlive the change')
})

t.test('a view without version() is read on every query; setView swaps the view', async (t) => {
  const memory = catalog()
  const unversioned: DnsCatalogView = {
    datacenter: 'dc1',
    serviceInstances: (service) => memory.serviceInstances(service),
    connectInstances: (service) => memory.connectInstances(service),
    node: (name) => memory.node(name)
  }
  const { server, port } = await startServer(unversioned)
  t.teardown(() => server.stop())
  t.equal((await askUdp(port, query('web.service.consul', 'A'))).decoded.answers.length, 1)
  memory.addNode('beta', '10.0.0.2')
  memory.addService('web', 'beta')
  t.equal((await askUdp(port, query('web.service.consul', 'A'))).decoded.answers.length, 2)
  server.setView(new MemoryView())
  t.equal((await askUdp(port, query('web.service.consul', 'A'))).decoded.rcode, 'NXDOMAIN')
})

t.test('a view that throws gives SERVFAIL, and the server keeps answering', async (t) => {
  let broken = true
  const memory = catalog()
  const view: DnsCatalogView = {
    datacenter: 'dc1',
    serviceInstances: (service) => { if (broken) throw new Error('catalog unavailable'); return memory.serviceInstances(service) },
    connectInstances: () => [],
    node: () => undefined
  }
  const { server, port } = await startServer(view)
  t.teardown(() => server.stop())
  t.equal((await askUdp(port, query('web.service.consul', 'A', { id: 31 }))).decoded.rcode, 'SERVFAIL')
  broken = false
  t.equal((await askUdp(port, query('web.service.consul', 'A'))).decoded.answers.length, 1)
})

t.test('TCP: several queries on one connection, each answered with its id', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const questions = [
    query('web.service.consul', 'A', { id: 11 }),
    query('alpha.node.consul', 'A', { id: 12 }),
    query('nothing.service.consul', 'A', { id: 13 }),
    query('web.service.consul', 'SRV', { id: 14 })
  ]
  const answers = (await askTcp(port, questions.map((packet) => dnsPacket.encode(packet)))).map(decode)
  t.same(answers.map((answer) => [answer.id, answer.rcode, answer.answers.length]).sort(),
    [[11, 'NOERROR', 1], [12, 'NOERROR', 1], [13, 'NXDOMAIN', 0], [14, 'NOERROR', 1]])
})

t.test('TCP: a message split across writes is reassembled', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const socket = net.connect({ port, host: '127.0.0.1' })
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  const framed = dnsPacket.streamEncode(query('web.service.consul', 'A', { id: 21 }))
  for (const byte of framed) {
    socket.write(Buffer.from([byte]))
    await new Promise((resolve) => setImmediate(resolve))
  }
  const [chunk] = await once(socket, 'data') as [Buffer]
  t.equal(decode(chunk.subarray(2)).id, 21)
})

t.test('TCP: idle connections are closed after tcpIdleTimeoutMs', async (t) => {
  const { server, port } = await startServer(catalog(), { tcpIdleTimeoutMs: 100 })
  t.teardown(() => server.stop())
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => undefined)
  const started = performance.now()
  await once(socket, 'close')
  t.ok(performance.now() - started >= 90, 'closed by the server after the idle timeout')
})

t.test('TCP: connections over maxTcpConnections are refused, the others keep working', async (t) => {
  const { server, port } = await startServer(catalog(), { maxTcpConnections: 2 })
  t.teardown(() => server.stop())
  const open: net.Socket[] = []
  t.teardown(() => { for (const socket of open) socket.destroy() })
  for (let index = 0; index < 2; index++) {
    const socket = net.connect({ port, host: '127.0.0.1' })
    open.push(socket)
    await once(socket, 'connect')
  }
  // Let the server accept both before the third arrives.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const third = net.connect({ port, host: '127.0.0.1' })
  third.on('error', () => undefined)
  await once(third, 'close')
  t.pass('third connection closed by the server')
  open[0]!.write(dnsPacket.streamEncode(query('web.service.consul', 'A', { id: 41 })))
  const [chunk] = await once(open[0]!, 'data') as [Buffer]
  t.equal(decode(chunk.subarray(2)).id, 41, 'an admitted connection is still answered')
})

t.test('TCP: a client over maxTcpConnectionsPerClient is refused; a silent connection goes at tcpHandshakeTimeoutMs', async (t) => {
  const { server, port } = await startServer(catalog(), { maxTcpConnectionsPerClient: 1, tcpHandshakeTimeoutMs: 100, tcpIdleTimeoutMs: 60_000 })
  t.teardown(() => server.stop())
  const silent = net.connect({ port, host: '127.0.0.1' })
  silent.on('error', () => undefined)
  await once(silent, 'connect')
  const started = performance.now()
  const second = net.connect({ port, host: '127.0.0.1' })
  second.on('error', () => undefined)
  await once(second, 'close')
  t.pass('a second connection from the same address is closed by the server')
  await once(silent, 'close')
  t.ok(performance.now() - started >= 90, 'the silent connection is closed at the first-byte deadline, well before the idle timeout')
  const talking = net.connect({ port, host: '127.0.0.1' })
  talking.on('error', () => undefined)
  t.teardown(() => talking.destroy())
  await once(talking, 'connect')
  talking.write(dnsPacket.streamEncode(query('web.service.consul', 'A', { id: 42 })))
  const [chunk] = await once(talking, 'data') as [Buffer]
  t.equal(decode(chunk.subarray(2)).id, 42, 'once the slot is free, a client that speaks is answered')
})

t.test('bad TCP limits are refused with a clear error', async (t) => {
  await t.rejects(startServer(catalog(), { maxTcpConnectionsPerClient: 0 }), { code: 'MESH_ERR_DNS_INVALID_CONFIG', message: /maxConnectionsPerSource must be a positive integer/ })
})
