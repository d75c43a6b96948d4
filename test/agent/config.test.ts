// Configuration precedence (flags > file > defaults) and validation messages.

import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, resolveConfig } from '../../agent/config.ts'

const dir = mkdtempSync(join(tmpdir(), 'mesh-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function file (name: string, content: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(content))
  return path
}

t.test('defaults are safe: loopback client address, deny by default, no script checks', async (t) => {
  const config = resolveConfig({ dataDir: dir, node: 'n1' })
  t.equal(config.clientAddress, '127.0.0.1')
  t.equal(config.httpPort, 8500)
  t.equal(config.dnsPort, 8600)
  t.equal(config.bindAddress, '0.0.0.0')
  t.equal(config.bindPort, 8301)
  t.equal(config.defaultIntentionPolicy, 'deny')
  t.equal(config.enableScriptChecks, false)
  t.equal(config.server, false)
  t.equal(config.membershipPreset, 'lan')
})

t.test('--dev is a server with a temporary data dir, dev timings and allow-by-default', async (t) => {
  const config = resolveConfig({ dev: true, node: 'n1' }, { now: () => 42 })
  t.equal(config.server, true)
  t.equal(config.dataDirIsTemporary, true)
  t.match(config.dataDir, /mesh-dev-\d+-42$/)
  t.equal(config.membershipPreset, 'dev')
  t.equal(config.defaultIntentionPolicy, 'allow')
  t.equal(config.bindAddress, '127.0.0.1', 'a dev agent gossips on loopback only')
})

t.test('flags override the config file, which overrides defaults', async (t) => {
  const path = file('a.json', { node_name: 'from-file', datacenter: 'east', ports: { http: 9500, dns: 9600 }, retry_join: ['127.0.0.2:8301'], services: [{ Name: 'web', Port: 80 }] })
  const config = resolveConfig({ dataDir: dir, configFile: path, httpPort: 7000 })
  t.equal(config.nodeName, 'from-file')
  t.equal(config.datacenter, 'east')
  t.equal(config.httpPort, 7000)
  t.equal(config.dnsPort, 9600)
  t.same(config.join, ['127.0.0.2:8301'])
  t.same(config.services, [{ Name: 'web', Port: 80 }])
})

t.test('bad values are refused with a message naming the field', async (t) => {
  const cases: Array<[Parameters<typeof resolveConfig>[0], RegExp]> = [
    [{ dataDir: dir, encrypt: 'short' }, /--encrypt must be 32 bytes/],
    [{ dataDir: dir, bind: 'not-an-ip' }, /--bind must be an IP address/],
    [{ dataDir: dir, join: ['127.0.0.1:99999'] }, /--join must be a port number/],
    [{ dataDir: dir, client: 'localhost' }, /--client must be an IP address/],
    [{ dataDir: dir, node: 'bad name!' }, /node name "bad name!"/],
    [{ dataDir: dir, configFile: file('b.json', { ports: { http: 'x' } }) }, /--http-port must be a port number/],
    [{ dataDir: dir, configFile: file('c.json', { dns_config: { node_ttl: 'soon' } }) }, /dns_config.node_ttl: invalid duration/],
    [{ dataDir: dir, configFile: join(dir, 'missing.json') }, /cannot read config file .*ENOENT/],
    [{ dataDir: dir, configFile: file('d.json', [1, 2]) }, /must hold a JSON object/],
  ]
  for (const [flags, message] of cases) {
    t.throws(() => resolveConfig(flags), message, JSON.stringify(flags))
    try { resolveConfig(flags) } catch (error) { t.type(error, ConfigError) }
  }
})
