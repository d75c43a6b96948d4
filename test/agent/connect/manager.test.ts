// The connect CA manager: root creation and persistence on servers, intermediates for every agent
// through the injected transport (with backoff while no server answers), local leaves with
// half-life rotation, refusal of services not registered here, and root key exchange between servers.
import t from 'tap'
import { chmodSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { verifyChain } from '../../../ca/verify.ts'
import { ConnectCA } from '../../../agent/connect/manager.ts'
import { createCluster, settle, CLUSTER_ID, TRUST_DOMAIN } from './cluster.ts'

const HOUR_MS = 3_600_000

t.test('a server creates the root on first start and keeps its key in a 0600 file', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  await a.ca.start()
  const state = await a.ca.bootstrap()
  await settle()
  t.equal(state.trustDomain, TRUST_DOMAIN)
  t.equal(state.roots.length, 1, 'one root')
  t.equal(cluster.published.length, 1, 'the new state is handed to the agent to replicate')
  t.notMatch(JSON.stringify(state), /PRIVATE KEY/, 'no private key in the replicated state')
  const dir = join(a.dataDir, 'connect')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'key directory is 0700')
  const files = readdirSync(dir)
  t.equal(files.length, 1, 'one key file')
  t.equal(statSync(join(dir, files[0])).mode & 0o777, 0o600, 'root key file is 0600')
  t.equal(a.ca.status().state, 'ready', 'the server signs its own intermediate')
  t.equal(a.ca.status().holdsRootKey, true)
  t.equal((await a.ca.bootstrap()).roots[0].id, state.roots[0].id, 'bootstrap again is a no-op')

  a.ca.stop()
  const restarted = new ConnectCA({ nodeName: 'a', datacenter: 'dc1', clusterId: CLUSTER_ID, server: true, dataDir: a.dataDir, clock: cluster.clock, requestIntermediate: async () => { throw new Error('unused') }, isLocalService: () => true })
  restarted.applyRoots(state)
  await restarted.start()
  await settle()
  t.equal(restarted.status().holdsRootKey, true, 'the key is loaded again on restart')
  t.equal(restarted.status().state, 'ready')
  restarted.stop()

  chmodSync(join(dir, files[0]), 0o644)
  const careless = new ConnectCA({ nodeName: 'a', datacenter: 'dc1', clusterId: CLUSTER_ID, server: true, dataDir: a.dataDir, requestIntermediate: async () => '', isLocalService: () => true })
  await t.rejects(careless.start(), { code: 'MESH_ERR_CA_KEY_FILE' }, 'a key file others can read is refused')
})

t.test('a leaf issued by client B verifies against the roots client C holds', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services: ['web'] })
  const c = cluster.add('c', { services: ['api'] })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  t.equal(b.ca.status().state, 'ready')
  t.equal(c.ca.status().state, 'ready')
  t.equal(b.requests, 1, 'B asked a server once for its intermediate')
  const leaf = b.ca.leaf('web')
  t.equal(leaf.ServiceURI, `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`)
  t.equal(leaf.Service, 'web')
  t.match(leaf.PrivateKeyPEM, /BEGIN PRIVATE KEY/)
  t.equal(Date.parse(leaf.ValidBefore) - Date.parse(leaf.ValidAfter), 72 * HOUR_MS + 60_000, '72 h leaves')
  const verified = verifyChain({ chainPem: leaf.CertPEM, rootsPem: c.ca.rootsPem(), nowMs: cluster.clock.nowMs() })
  t.equal(verified.spiffeId.uri, leaf.ServiceURI, 'C verifies B\'s leaf with its own copy of the roots')
  t.equal(b.ca.leaf('web').SerialNumber, leaf.SerialNumber, 'the leaf is cached')
  const roots = c.ca.roots()
  t.equal(roots.TrustDomain, TRUST_DOMAIN)
  t.equal(roots.Roots.length, 1)
  t.equal(roots.ActiveRootID, roots.Roots[0].ID)
  t.match(roots.Roots[0], { Active: true, PrivateKeyType: 'ec', PrivateKeyBits: 256, IntermediateCerts: null })
  t.ok(Number.isSafeInteger(roots.Roots[0].SerialNumber), 'the root serial is an exact JSON number')
  t.ok(verifyChain({ chainPem: b.ca.agentLeaf().certChainPem, rootsPem: c.ca.rootsPem(), nowMs: cluster.clock.nowMs() }).spiffeId.kind === 'agent', 'agent certificates verify too')
})

t.test('leaves are refused for services not registered on this agent', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true, services: ['web'] })
  await a.ca.start()
  await a.ca.bootstrap()
  await settle()
  t.throws(() => a.ca.leaf('db'), { code: 'MESH_ERR_CA_NOT_LOCAL_SERVICE', message: /Permission denied/ })
})

t.test('without a reachable server, a client waits and retries with capped exponential backoff', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services: ['web'] })
  await a.ca.start()
  await b.ca.start()
  cluster.serversReachable = false
  await a.ca.bootstrap()
  await settle()
  t.match(b.ca.status(), { state: 'waiting-for-server', lastError: 'no server reachable' })
  t.throws(() => b.ca.leaf('web'), { code: 'MESH_ERR_CA_NOT_READY' }, 'no leaf before an intermediate')
  // random() = 0.5 → each delay is 0.75 x the backoff: 750 ms, 1.5 s, 3 s, ... capped at 45 s.
  const delays: number[] = []
  for (let attempt = 0; attempt < 9; attempt++) {
    const before = cluster.clock.nowMs()
    const next = b.ca.status().nextRetryAtMs as number
    delays.push(next - before)
    cluster.clock.advance(next - before)
    await settle()
  }
  t.same(delays, [750, 1500, 3000, 6000, 12000, 24000, 45000, 45000, 45000])
  t.equal(b.requests, 10)
  cluster.serversReachable = true
  cluster.clock.advance(45_000)
  await settle()
  t.equal(b.ca.status().state, 'ready', 'ready once a server answers')
  t.equal(b.ca.status().lastError, undefined)
  t.ok(b.ca.leaf('web'))
})

t.test('leaves rotate in the background at half-life and wake blocking watchers', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const b = cluster.add('b', { services: ['web', 'old'] })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  const first = b.ca.leaf('web')
  b.ca.leaf('old')
  const woken = b.ca.leafSource('web').waitForIndex(first.ModifyIndex, { timeoutMs: 100 * HOUR_MS })
  cluster.clock.advance(35 * HOUR_MS)
  t.equal(b.ca.leaf('web').SerialNumber, first.SerialNumber, 'not rotated before half-life')
  b.services.delete('old')
  cluster.clock.advance(2 * HOUR_MS)
  const second = b.ca.leaf('web')
  t.not(second.SerialNumber, first.SerialNumber, 'rotated at half-life')
  t.equal(second.CreateIndex, first.CreateIndex, 'CreateIndex stays')
  t.ok(second.ModifyIndex > first.ModifyIndex, 'ModifyIndex moves')
  t.equal(await woken, second.ModifyIndex, 'the watcher woke with the new index')
  const watched = b.ca.watchLeaf('web', second.ModifyIndex, { timeoutMs: 100 * HOUR_MS })
  cluster.clock.advance(37 * HOUR_MS)
  t.equal(await watched, b.ca.leaf('web').ModifyIndex, 'watchLeaf resolves at the next rotation')
  const material = b.ca.tlsMaterial('web')
  t.equal(material.certChainPem, b.ca.leaf('web').CertPEM, 'TLS material for the sidecar: the leaf chain')
  t.same(material.rootsPem, b.ca.rootsPem(), '... and the roots in force')
  t.throws(() => b.ca.leafSource('old'), { code: 'MESH_ERR_CA_NOT_LOCAL_SERVICE' }, 'a deregistered service\'s leaf is dropped, not renewed')
})

t.test('intermediate signing requests: validation and rate limit', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  await a.ca.start()
  await a.ca.bootstrap()
  const { createCsr } = await import('../../../ca/csr.ts')
  const { generateKey } = await import('../../../ca/keys.ts')
  const key = generateKey({ type: 'ec', bits: 256 })
  const csr = (uris: string[]): string => createCsr({ privateKeyPem: key.privateKeyPem, commonName: 'x', uris })
  const agentUri = `spiffe://${TRUST_DOMAIN}/agent/client/dc/dc1/id/b`
  t.match(a.ca.signIntermediateRequest(csr([agentUri]), 'b'), /BEGIN CERTIFICATE/, 'a request naming the sender is signed')
  const rejected: Array<[string, string, string]> = [
    ['another node\'s identity', csr([agentUri]), 'c'],
    ['a service identity', csr([`spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`]), 'b'],
    ['another trust domain', csr([agentUri.replace('11111111', '99999999')]), 'b'],
    ['another datacenter', csr([agentUri.replace('/dc1/', '/dc2/')]), 'b'],
    ['two identities', csr([agentUri, agentUri]), 'b'],
    ['no identity', csr([]), 'b'],
    ['garbage', 'garbage', 'b'],
  ]
  for (const [what, pem, node] of rejected) t.throws(() => a.ca.signIntermediateRequest(pem, node), { code: 'MESH_ERR_CA_BAD_CSR' }, what)
  let limited = 0
  for (let i = 0; i < 60; i++) {
    try { a.ca.signIntermediateRequest(csr([agentUri]), 'b') } catch (error) { if ((error as { code: string }).code === 'MESH_ERR_CA_RATE_LIMITED') limited++ }
  }
  t.ok(limited >= 10, `requests beyond 50/s are refused (${limited} of 60 refused)`)
  cluster.clock.advance(1000)
  t.match(a.ca.signIntermediateRequest(csr([agentUri]), 'b'), /BEGIN CERTIFICATE/, 'accepted again a second later')
})

t.test('root keys move between servers only through export/import, and must match a known root', async t => {
  const cluster = createCluster()
  t.teardown(() => cluster.cleanup())
  const a = cluster.add('a', { server: true })
  const d = cluster.add('d', { server: true })
  const b = cluster.add('b')
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  t.equal(d.ca.status().holdsRootKey, false, 'a second server starts without the key')
  t.throws(() => b.ca.exportRootKeyForServer(), { code: 'MESH_ERR_CA_NO_ROOT_KEY' }, 'a client has no key to export')
  await t.rejects(d.ca.importRootKey({ ...a.ca.exportRootKeyForServer(), signingKeyId: 'ab:cd' }), { code: 'MESH_ERR_CA_BAD_KEY' }, 'a key for an unknown root is refused')
  const { generateKey } = await import('../../../ca/keys.ts')
  await t.rejects(d.ca.importRootKey({ signingKeyId: a.ca.exportRootKeyForServer().signingKeyId, privateKeyPem: generateKey({ type: 'ec', bits: 256 }).privateKeyPem }), { code: 'MESH_ERR_CA_BAD_KEY' }, 'a key that does not match the root is refused')
  await d.ca.importRootKey(a.ca.exportRootKeyForServer())
  t.equal(d.ca.status().holdsRootKey, true)
  t.equal(statSync(join(d.dataDir, 'connect', readdirSync(join(d.dataDir, 'connect'))[0])).mode & 0o777, 0o600, 'stored 0600')
  a.ca.stop()
  cluster.members.delete('a')
  const e = cluster.add('e', { services: ['web'] })
  e.ca.applyRoots(d.ca.state!)
  await e.ca.start()
  await settle()
  t.equal(e.ca.status().state, 'ready', 'the second server signs intermediates once it holds the key')
})
