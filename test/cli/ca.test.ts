import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const pem = (label: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(label).toString('base64')}\n-----END CERTIFICATE-----\n`
const ROOTS = {
  ActiveRootID: 'new-root',
  TrustDomain: '11111111-2222.consul',
  Roots: [
    { ID: 'old-root', Name: 'Consul CA Primary Cert', RootCert: pem('old'), IntermediateCerts: null, Active: false, NotAfter: '2036-01-01T00:00:00Z' },
    { ID: 'new-root', Name: 'Consul CA Primary Cert', RootCert: pem('new'), IntermediateCerts: [pem('intermediate')], Active: true, NotAfter: '2036-06-01T00:00:00Z' },
  ],
}

t.test('ca roots prints the trust domain and a table; --pem prints the certificates', async t => {
  const agent = await startFakeAgent({ 'GET /v1/connect/ca/roots': { body: ROOTS } })
  t.teardown(() => agent.close())
  const table = await runCli(['ca', 'roots'], { httpAddr: agent.httpAddr })
  t.equal(table.code, 0)
  t.equal(table.stdout, [
    'Trust domain: 11111111-2222.consul',
    '',
    'ID        Name                    Active  Not After',
    'old-root  Consul CA Primary Cert  no      2036-01-01T00:00:00Z',
    'new-root  Consul CA Primary Cert  yes     2036-06-01T00:00:00Z',
    '',
  ].join('\n'))
  const pems = await runCli(['ca', 'roots', '--pem'], { httpAddr: agent.httpAddr })
  t.equal(pems.stdout, pem('old') + pem('new'))
})

t.test('ca rotate POSTs to the mesh rotation endpoint and names the new root', async t => {
  const agent = await startFakeAgent({ 'POST /v1/mesh/ca/rotate': { body: { ActiveRootID: 'r2' } } })
  t.teardown(() => agent.close())
  const result = await runCli(['ca', 'rotate'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0)
  t.equal(result.stdout, 'CA root rotation started; new active root r2\n')
  t.same(agent.requests.map(request => `${request.method} ${request.path}`), ['POST /v1/mesh/ca/rotate'])
})

t.test('ca get-config prints JSON that ca set-config sends back unchanged', async t => {
  const config = { Provider: 'consul', Config: { LeafCertTTL: '72h', RotationPeriod: '2160h' }, ForceWithoutCrossSigning: false }
  const agent = await startFakeAgent({ 'GET /v1/connect/ca/configuration': { body: config }, 'PUT /v1/connect/ca/configuration': { body: '' } })
  t.teardown(() => agent.close())
  const got = await runCli(['ca', 'get-config'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(got.stdout), config)
  const dir = t.testdir({})
  writeFileSync(join(dir, 'ca.json'), got.stdout)
  const set = await runCli(['ca', 'set-config', join(dir, 'ca.json')], { httpAddr: agent.httpAddr })
  t.equal(set.code, 0)
  t.equal(set.stdout, 'Unchanged: CA configuration\n')
  t.same(agent.requests.map(request => `${request.method} ${request.path}`), [
    'GET /v1/connect/ca/configuration',
    'GET /v1/connect/ca/configuration', 'PUT /v1/connect/ca/configuration', 'GET /v1/connect/ca/configuration',
  ], 'set-config reads the configuration before and after its write')
  t.same(agent.requests[2].body, config)
  writeFileSync(join(dir, 'bad.json'), '{"Config":{}}')
  const bad = await runCli(['ca', 'set-config', join(dir, 'bad.json')], { httpAddr: agent.httpAddr })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /bad\.json: must be a JSON object with a "Provider"/)
  t.equal(agent.requests.length, 4)
})

/** A fake agent whose CA configuration a PUT changes, durations stored the agent's way ("24h0m0s"). */
async function startCaStore (config: Record<string, unknown>) {
  return startFakeAgent({
    'GET /v1/connect/ca/configuration': () => ({ body: { Provider: 'consul', Config: config, ModifyIndex: 1 } }),
    'PUT /v1/connect/ca/configuration': request => {
      const sent = (request.body as { Config: Record<string, unknown> }).Config
      for (const [field, value] of Object.entries(sent)) {
        if (field === 'RootCert' || field === 'PrivateKey') continue
        config[field] = typeof value === 'string' && /^\d+h$/.test(value) ? `${value}0m0s` : value
      }
      return { body: '' }
    },
    'GET /v1/connect/ca/roots': { body: ROOTS },
  })
}

t.test('ca set-config says which fields changed, before → after, as the agent stores them', async t => {
  const agent = await startCaStore({ LeafCertTTL: '72h0m0s', PrivateKeyType: 'ec', PrivateKeyBits: 256 })
  t.teardown(() => agent.close())
  const changed = await runCli(['ca', 'set-config', '-'], { httpAddr: agent.httpAddr, stdin: '{"Provider":"consul","Config":{"LeafCertTTL":"24h"}}' })
  t.equal(changed.code, 0, changed.stderr)
  t.equal(changed.stdout, 'Changed: CA configuration (LeafCertTTL 72h0m0s → 24h0m0s)\n')
  const again = await runCli(['ca', 'set-config', '-'], { httpAddr: agent.httpAddr, stdin: '{"Provider":"consul","Config":{"LeafCertTTL":"24h"}}' })
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, 'Unchanged: CA configuration\n')
})

t.test('ca set-config leaves out a RootCert that is already the active root; another one rotates', async t => {
  const agent = await startCaStore({ LeafCertTTL: '72h0m0s' })
  t.teardown(() => agent.close())
  const active = JSON.stringify({ Provider: 'consul', Config: { RootCert: pem('new'), PrivateKey: 'key', LeafCertTTL: '48h' } })
  const kept = await runCli(['ca', 'set-config', '-'], { httpAddr: agent.httpAddr, stdin: active })
  t.equal(kept.code, 0, kept.stderr)
  t.equal(kept.stdout, 'Changed: CA configuration (LeafCertTTL 72h0m0s → 48h0m0s)\n')
  t.same(agent.requests.find(request => request.method === 'PUT')?.body, { Provider: 'consul', Config: { LeafCertTTL: '48h' } },
    'the agent would refuse to rotate to the root in force')
  const other = JSON.stringify({ Provider: 'consul', Config: { RootCert: pem('other'), PrivateKey: 'key' } })
  const rotated = await runCli(['ca', 'set-config', '-'], { httpAddr: agent.httpAddr, stdin: other })
  t.equal(rotated.stdout, 'Changed: CA configuration (active root → the supplied RootCert)\n')
  t.same(agent.requests.filter(request => request.method === 'PUT').at(-1)?.body, JSON.parse(other))
})

t.test('ca leaf writes the chain, a 0600 key and every root, replacing a looser existing key', async t => {
  const leaf = { CertPEM: pem('leaf'), PrivateKeyPEM: '-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----', ValidBefore: '2026-11-29T11:00:00Z' }
  const agent = await startFakeAgent({ 'GET /v1/agent/connect/ca/leaf/web': { body: leaf }, 'GET /v1/agent/connect/ca/roots': { body: ROOTS } })
  t.teardown(() => agent.close())
  const dir = t.testdir({ tls: { 'web.key': 'old key' } })
  const out = join(dir, 'tls')
  const result = await runCli(['ca', 'leaf', 'web', '--out', out], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(readFileSync(join(out, 'web.crt'), 'utf8'), pem('leaf') + pem('intermediate'), 'leaf then the active root\'s intermediates')
  t.equal(readFileSync(join(out, 'web.key'), 'utf8'), `${leaf.PrivateKeyPEM}\n`)
  t.equal(statSync(join(out, 'web.key')).mode & 0o777, 0o600)
  t.equal(readFileSync(join(out, 'ca.pem'), 'utf8'), pem('new') + pem('old'), 'active root first')
  t.match(result.stdout, /web\.crt.*web\.key.*ca\.pem \(valid until 2026-11-29T11:00:00Z\)/)
})

t.test('ca leaf creates --out, does not repeat intermediates the agent already chained, refuses path-like names', async t => {
  const leaf = { CertPEM: pem('leaf') + pem('intermediate'), PrivateKeyPEM: 'k' }
  const agent = await startFakeAgent({ 'GET /v1/agent/connect/ca/leaf/api': { body: leaf }, 'GET /v1/agent/connect/ca/roots': { body: ROOTS } })
  t.teardown(() => agent.close())
  const out = join(t.testdir({}), 'a', 'b')
  const result = await runCli(['ca', 'leaf', 'api', '--out', out], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(readFileSync(join(out, 'api.crt'), 'utf8'), pem('leaf') + pem('intermediate'))
  const escape = await runCli(['ca', 'leaf', '../api', '--out', out], { httpAddr: agent.httpAddr })
  t.equal(escape.code, 1)
  t.match(escape.stderr, /service must be a plain service name/)
  const noOut = await runCli(['ca', 'leaf', 'api'], { httpAddr: agent.httpAddr })
  t.equal(noOut.code, 1)
  t.equal(noOut.stderr, "Error: required option '--out <dir>' not specified\n")
})
