// The CA's HTTP API as Consul clients see it: roots on both paths with blocking queries, leaves
// for local services only (403 otherwise) blocking until rotation, configuration GET/PUT with
// validation errors as 400, and the mesh-only rotate.
import t from 'tap'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerCaRoutes } from '../../../agent/http/ca-routes.ts'
import { createCluster, settle, TRUST_DOMAIN } from '../connect/cluster.ts'

const HOUR_MS = 3_600_000

async function setup (t: { teardown: (fn: () => Promise<void>) => void }) {
  const cluster = createCluster()
  const a = cluster.add('a', { server: true, services: ['web'] })
  const b = cluster.add('b', { services: ['api'] })
  for (const member of cluster.members.values()) await member.ca.start()
  await a.ca.bootstrap()
  await settle()
  const app = buildHttpServer()
  registerCaRoutes(app, { ca: a.ca, random: () => 0 })
  const appB = buildHttpServer()
  registerCaRoutes(appB, { ca: b.ca, random: () => 0 })
  t.teardown(async () => { await app.close(); await appB.close(); cluster.cleanup() })
  return { cluster, a, b, app, appB }
}

t.test('roots on the agent and catalog paths, with X-Consul-Index', async t => {
  const { appB } = await setup(t)
  for (const url of ['/v1/agent/connect/ca/roots', '/v1/connect/ca/roots']) {
    const response = await appB.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, url)
    const body = response.json()
    t.equal(body.TrustDomain, TRUST_DOMAIN)
    t.equal(body.Roots.length, 1)
    t.equal(body.ActiveRootID, body.Roots[0].ID)
    t.match(body.Roots[0], { Name: String, SerialNumber: Number, SigningKeyID: /^[0-9a-f:]+$/, NotBefore: /Z$/, NotAfter: /Z$/, RootCert: /BEGIN CERTIFICATE/, Active: true, PrivateKeyType: 'ec', PrivateKeyBits: 256, CreateIndex: Number, ModifyIndex: Number })
    t.notMatch(response.body, /PRIVATE KEY/, 'no key material')
    t.ok(Number(response.headers['x-consul-index']) >= 1)
  }
})

t.test('a blocking roots query returns when the root rotates', async t => {
  const { app, appB } = await setup(t)
  const first = await appB.inject({ method: 'GET', url: '/v1/connect/ca/roots' })
  const index = first.headers['x-consul-index'] as string
  const blocked = appB.inject({ method: 'GET', url: `/v1/connect/ca/roots?index=${index}&wait=10m` })
  await settle()
  const rotated = await app.inject({ method: 'POST', url: '/v1/mesh/ca/rotate' })
  t.equal(rotated.statusCode, 200)
  t.equal(rotated.json().Roots.length, 2, 'rotate answers with both roots')
  const response = await blocked
  t.ok(Number(response.headers['x-consul-index']) > Number(index), 'the index moved')
  t.equal(response.json().Roots.length, 2, 'the blocked query sees the new root')
})

t.test('leaf for a local service; refusal for any other', async t => {
  const { cluster, app } = await setup(t)
  const response = await app.inject({ method: 'GET', url: '/v1/agent/connect/ca/leaf/web' })
  t.equal(response.statusCode, 200)
  const leaf = response.json()
  t.match(leaf, { Service: 'web', ServiceURI: `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/web`, CertPEM: /BEGIN CERTIFICATE/, PrivateKeyPEM: /BEGIN PRIVATE KEY/, SerialNumber: /^[0-9a-f:]+$/, ValidAfter: /Z$/, ValidBefore: /Z$/ })
  t.equal(response.headers['x-consul-index'], String(leaf.ModifyIndex))

  const refused = await app.inject({ method: 'GET', url: '/v1/agent/connect/ca/leaf/db' })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, /^Permission denied/)
  t.equal((await app.inject({ method: 'GET', url: '/v1/agent/connect/ca/leaf/a%2Fb' })).statusCode, 400, 'a malformed service name')

  const blocked = app.inject({ method: 'GET', url: `/v1/agent/connect/ca/leaf/web?index=${leaf.ModifyIndex}&wait=10m` })
  await settle()
  cluster.clock.advance(37 * HOUR_MS)
  const rotated = (await blocked).json()
  t.not(rotated.SerialNumber, leaf.SerialNumber, 'the blocking leaf query returns the rotated leaf')
  t.ok(rotated.ModifyIndex > leaf.ModifyIndex)
})

t.test('leaf before the agent has an intermediate: 503', async t => {
  const cluster = createCluster()
  const c = cluster.add('c', { services: ['api'] })
  await c.ca.start()
  const app = buildHttpServer()
  registerCaRoutes(app, { ca: c.ca })
  t.teardown(async () => { await app.close(); cluster.cleanup() })
  const response = await app.inject({ method: 'GET', url: '/v1/agent/connect/ca/leaf/api' })
  t.equal(response.statusCode, 503)
  t.match(response.body, /not ready/)
})

t.test('CA configuration: GET, PUT, validation errors as 400', async t => {
  const { app, appB } = await setup(t)
  const got = (await app.inject({ method: 'GET', url: '/v1/connect/ca/configuration' })).json()
  t.match(got, { Provider: 'consul', Config: { LeafCertTTL: '72h', IntermediateCertTTL: '8760h', RootCertTTL: '87600h', PrivateKeyType: 'ec', PrivateKeyBits: 256 } })
  const bad: Array<[string, unknown]> = [
    ['an unknown provider', { Provider: 'vault', Config: {} }],
    ['a leaf TTL under an hour', { Provider: 'consul', Config: { LeafCertTTL: '10m' } }],
    ['an intermediate TTL under 3 leaf TTLs', { Config: { LeafCertTTL: '72h', IntermediateCertTTL: '100h' } }],
    ['a root TTL under the intermediate TTL', { Config: { RootCertTTL: '100h' } }],
    ['a bad duration', { Config: { LeafCertTTL: 'soon' } }],
    ['an unknown key type', { Config: { PrivateKeyType: 'dsa' } }],
    ['a bad key size', { Config: { PrivateKeyType: 'ec', PrivateKeyBits: 2048 } }],
    ['a RootCert without PrivateKey', { Config: { RootCert: '-----BEGIN CERTIFICATE-----' } }],
    ['an unknown field', { Config: { Bogus: 1 } }],
    ['Config not an object', { Config: 'x' }],
  ]
  for (const [what, body] of bad) {
    const response = await app.inject({ method: 'PUT', url: '/v1/connect/ca/configuration', payload: JSON.stringify(body) })
    t.equal(response.statusCode, 400, what)
  }
  t.equal((await app.inject({ method: 'PUT', url: '/v1/connect/ca/configuration', payload: '{bad json' })).statusCode, 400, 'bad JSON')
  const put = await app.inject({ method: 'PUT', url: '/v1/connect/ca/configuration', payload: JSON.stringify({ Provider: 'consul', Config: { LeafCertTTL: '24h' } }) })
  t.equal(put.statusCode, 200)
  t.match((await appB.inject({ method: 'GET', url: '/v1/connect/ca/configuration' })).json().Config, { LeafCertTTL: '24h0m0s' }, 'the change replicated to B')
  const onClient = await appB.inject({ method: 'PUT', url: '/v1/connect/ca/configuration', payload: JSON.stringify({ Config: { LeafCertTTL: '48h' } }) })
  t.equal(onClient.statusCode, 503, 'a client agent holds no root key')
})

t.test('PUT with a supplied RootCert and PrivateKey rotates to that root', async t => {
  const { app } = await setup(t)
  const { createRoot } = await import('../../../ca/profiles.ts')
  const supplied = createRoot({ trustDomain: TRUST_DOMAIN, nowMs: Date.now() })
  const response = await app.inject({ method: 'PUT', url: '/v1/connect/ca/configuration', payload: JSON.stringify({ Provider: 'consul', Config: { RootCert: supplied.certPem, PrivateKey: supplied.privateKeyPem } }) })
  t.equal(response.statusCode, 200, response.body)
  const roots = (await app.inject({ method: 'GET', url: '/v1/connect/ca/roots' })).json()
  t.equal(roots.Roots.find((root: { Active: boolean }) => root.Active).RootCert, supplied.certPem, 'the supplied root is active')
  t.equal(roots.Roots.length, 2, 'the old root stays for the overlap')
  const configuration = await app.inject({ method: 'GET', url: '/v1/connect/ca/configuration' })
  t.notMatch(configuration.body, /PRIVATE KEY|BEGIN CERTIFICATE/, 'the configuration never returns key material')
})
