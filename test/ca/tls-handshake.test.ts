// Leaves work as they are meant to in a real mutual TLS handshake with node:tls: both sides present
// a leaf, require the peer's, trust only the root, and read the peer's SPIFFE ID from its URI SAN.
import t from 'tap'
import { connect, createServer } from 'node:tls'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { buildHierarchy, TRUST_DOMAIN } from './fixtures.ts'

const uriOf = (peer: PeerCertificate): string | undefined => /URI:([^,\s]+)/.exec(peer.subjectaltname ?? '')?.[1]

t.test('mutual TLS between two service leaves checks the peer URI SAN on both sides', async t => {
  const h = buildHierarchy()
  const seenByServer: string[] = []
  const server = createServer({
    cert: h.web.certPem + h.intermediatePem,
    key: h.web.privateKeyPem,
    ca: [h.rootPem],
    requestCert: true,
    rejectUnauthorized: true,
  }, socket => {
    seenByServer.push(uriOf(socket.getPeerCertificate()) ?? '')
    socket.end('hello')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port

  const client = connect({
    host: '127.0.0.1',
    port,
    cert: h.api.certPem + h.intermediatePem,
    key: h.api.privateKeyPem,
    ca: [h.rootPem],
    rejectUnauthorized: true,
    checkServerIdentity: (_host, peer) => uriOf(peer) === `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web` ? undefined : new Error(`unexpected server identity ${uriOf(peer) ?? ''}`),
  })
  await once(client, 'secureConnect')
  t.ok((client as TLSSocket).authorized, 'the client authorized the server chain')
  let body = ''
  for await (const chunk of client) body += String(chunk)
  t.equal(body, 'hello')
  t.same(seenByServer, [`spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/api`], 'the server saw the client\'s SPIFFE ID')
})

t.test('a client whose leaf chains to another root is rejected', async t => {
  const h = buildHierarchy()
  const other = buildHierarchy()
  const server = createServer({ cert: h.web.certPem + h.intermediatePem, key: h.web.privateKeyPem, ca: [h.rootPem], requestCert: true, rejectUnauthorized: true }, socket => socket.end('hello'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = connect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    cert: other.api.certPem + other.intermediatePem,
    key: other.api.privateKeyPem,
    ca: [h.rootPem],
    checkServerIdentity: () => undefined,
  })
  const outcome = await new Promise<string>(resolve => {
    client.on('error', error => resolve(`error: ${error.message}`))
    client.on('data', () => resolve('data'))
    client.on('end', () => resolve('end'))
  })
  client.destroy()
  t.match(outcome, /^error|^end$/, 'the server refuses the foreign client')
  t.not(outcome, 'data', 'no application data reaches the foreign client')
})
