// Root rotation: the new root is cross-signed by the old one, both are trusted until 2 x LeafCertTTL
// has passed, every agent's intermediate and leaves move to the new root, and a loop of mutual TLS
// handshakes running through the whole rotation, including while one agent has not yet heard of
// the new root, never fails.
import t from 'tap'
import { connect, createSecureContext, createServer } from 'node:tls'
import type { PeerCertificate } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { verifyChain } from '../../../ca/verify.ts'
import { createCluster, settle, TRUST_DOMAIN } from './cluster.ts'

const HOUR_MS = 3_600_000
const uriOf = (peer: PeerCertificate): string | undefined => /URI:([^,\s]+)/.exec(peer.subjectaltname ?? '')?.[1]
const svc = (name: string): string => `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/${name}`

t.test('mTLS handshakes keep succeeding through a root rotation', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services: ['web'] })
  const c = cluster.add('c', { services: ['api'] })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()

  // B's sidecar: every handshake uses B's current leaf and roots, as a proxy snapshot would.
  const server = createServer({
    requestCert: true,
    rejectUnauthorized: true,
    SNICallback: (_name, callback) => {
      const leaf = b.ca.leaf('web')
      callback(null, createSecureContext({ cert: leaf.CertPEM, key: leaf.PrivateKeyPEM, ca: b.ca.rootsPem() }))
    },
  }, socket => {
    socket.end(uriOf(socket.getPeerCertificate()) === svc('api') ? 'ok' : 'wrong client identity')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port

  const handshake = async (): Promise<string> => {
    const leaf = c.ca.leaf('api')
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'web',
      cert: leaf.CertPEM,
      key: leaf.PrivateKeyPEM,
      ca: c.ca.rootsPem(),
      checkServerIdentity: (_host, peer) => uriOf(peer) === svc('web') ? undefined : new Error(`server is ${uriOf(peer) ?? '?'}`),
    })
    try {
      let body = ''
      socket.on('data', chunk => { body += String(chunk) })
      await once(socket, 'end')
      return body
    } finally {
      socket.destroy()
    }
  }

  let stop = false
  let succeeded = 0
  const failures: string[] = []
  t.teardown(() => { stop = true })
  const loop = (async () => {
    while (!stop) {
      try {
        const body = await handshake()
        if (body === 'ok') succeeded++
        else failures.push(body)
      } catch (error) {
        failures.push((error as Error).message)
      }
    }
  })()
  const handshakesAfter = async (count: number): Promise<void> => {
    const target = succeeded + failures.length + count
    while (succeeded + failures.length < target) await new Promise(resolve => setImmediate(resolve))
  }

  await handshakesAfter(20)
  const oldRootPem = b.ca.rootsPem()[0]
  const oldWebLeaf = b.ca.leaf('web')
  cluster.held.set('c', []) // C will hear of the new root late
  await a.ca.rotate()
  await settle()
  t.equal(b.ca.roots().Roots.length, 2, 'B trusts both roots')
  t.equal(c.ca.roots().Roots.length, 1, 'C still knows only the old root')
  const newWebLeaf = b.ca.leaf('web')
  t.not(newWebLeaf.SerialNumber, oldWebLeaf.SerialNumber, 'B re-issued its leaf')
  const newRootPem = b.ca.roots().Roots.find(root => root.Active)?.RootCert as string
  t.ok(verifyChain({ chainPem: newWebLeaf.CertPEM, rootsPem: [newRootPem], nowMs: Date.now() }), 'B\'s new leaf chains to the new root')
  t.ok(verifyChain({ chainPem: newWebLeaf.CertPEM, rootsPem: [oldRootPem], nowMs: Date.now() }), '... and, through the cross-signed root, to the old one')
  t.ok(verifyChain({ chainPem: oldWebLeaf.CertPEM, rootsPem: b.ca.rootsPem(), nowMs: Date.now() }), 'leaves from before the rotation still verify')
  await handshakesAfter(20)
  cluster.release('c')
  await settle()
  t.equal(c.ca.roots().Roots.length, 2, 'C caught up')
  t.ok(verifyChain({ chainPem: c.ca.leaf('api').CertPEM, rootsPem: [newRootPem], nowMs: Date.now() }), 'C re-issued its leaf under the new root')
  await handshakesAfter(20)
  stop = true
  await loop
  t.same(failures, [], 'no handshake failed')
  t.ok(succeeded >= 60, `${succeeded} handshakes succeeded`)
})

t.test('the old root is dropped 2 x LeafCertTTL after the rotation', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services: ['web'] })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  const oldRootId = a.ca.roots().ActiveRootID
  const index = b.ca.rootsSource.index
  await a.ca.rotate()
  await settle()
  t.ok(b.ca.rootsSource.index > index, 'roots watchers see the rotation')
  const roots = b.ca.roots()
  t.equal(roots.Roots.length, 2)
  t.not(roots.ActiveRootID, oldRootId, 'the new root is active')
  t.match(roots.Roots.find(root => root.ID === oldRootId), { Active: false })
  t.equal(roots.Roots.find(root => root.Active)?.IntermediateCerts?.length, 1, 'the new root lists its cross-signed certificate')
  cluster.clock.advance(144 * HOUR_MS - 60_000)
  await settle()
  t.equal(b.ca.roots().Roots.length, 2, 'both roots kept just before 2 x 72 h')
  cluster.clock.advance(2 * 60_000)
  await settle()
  t.same(b.ca.roots().Roots.map(root => root.ID), [roots.ActiveRootID], 'the old root is gone after 2 x 72 h')
  t.equal(b.ca.roots().Roots[0].IntermediateCerts, null, 'and so is the cross-signed certificate')
  t.equal(a.ca.state?.roots.length, 1, 'the server published the pruned state')
})

t.test('changing the key type rotates to a new root of that type', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true, services: ['web'] })
  await a.ca.start()
  await a.ca.bootstrap()
  await settle()
  await a.ca.setConfiguration({ Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } })
  await settle()
  const roots = a.ca.roots()
  t.match(roots.Roots.find(root => root.Active), { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 })
  t.equal(roots.Roots.length, 2)
  t.match(a.ca.configuration().Config, { PrivateKeyType: 'rsa', PrivateKeyBits: 2048, LeafCertTTL: '72h0m0s' })
  await a.ca.setConfiguration({ Config: { LeafCertTTL: '24h' } })
  t.equal(a.ca.state?.roots.length, 2, 'a TTL change needs no new root')
  t.equal(Date.parse(a.ca.leaf('web').ValidBefore) - Date.parse(a.ca.leaf('web').ValidAfter), 24 * HOUR_MS + 60_000, 'new leaves use the new TTL')
})

t.test('after a rotation every cached leaf is re-issued under the new root, and one asked for meanwhile is issued on demand', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const services = Array.from({ length: 150 }, (_, index) => `svc-${index}`)
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  const before = new Map(services.map(service => [service, b.ca.leaf(service).ModifyIndex]))
  await a.ca.rotate()
  await settle()
  const newRootPem = b.ca.roots().Roots.find(root => root.Active)?.RootCert as string
  const last = services[services.length - 1]
  t.ok(verifyChain({ chainPem: b.ca.leaf(last).CertPEM, rootsPem: [newRootPem], nowMs: Date.now() }), 'a leaf asked for right away is under the new root')
  for (let round = 0; round < 1000 && services.some(service => b.ca.leafSource(service).index <= (before.get(service) as number)); round++) await settle()
  t.ok(services.every(service => b.ca.leafSource(service).index > (before.get(service) as number)), 'every leaf was re-issued')
  t.ok(services.every(service => verifyChain({ chainPem: b.ca.leaf(service).CertPEM, rootsPem: [newRootPem], nowMs: Date.now() })), 'all under the new root')
})
