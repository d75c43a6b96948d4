// Configuration precedence (flags > file > defaults) and validation messages.

import { DEFAULT_LISTENER_LIMITS } from '../../api/connection-limits.ts'
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
  t.equal(config.catalogSync, true, 'catalog writes are synced before they are acknowledged')
  t.equal(config.recover, false)
})

t.test('--recover and --unsafe-no-fsync reach the agent only when given', async (t) => {
  const config = resolveConfig({ dataDir: dir, node: 'n1', recover: true, unsafeNoFsync: true })
  t.equal(config.recover, true)
  t.equal(config.catalogSync, false)
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

t.test('--config-dir merges *.json in name order after --config-file: later keys win, services and checks concatenate', async (t) => {
  const confDir = mkdtempSync(join(dir, 'conf-'))
  writeFileSync(join(confDir, '20-web.json'), JSON.stringify({ datacenter: 'west', ports: { dns: 9700 }, service: { Name: 'web', Port: 80 } }))
  writeFileSync(join(confDir, '10-base.json'), JSON.stringify({ datacenter: 'east', ports: { http: 9500 }, services: [{ Name: 'db', Port: 5432 }], checks: [{ Name: 'disk', TTL: '30s' }] }))
  writeFileSync(join(confDir, 'notes.txt'), 'not config')
  const path = file('base.json', { node_name: 'from-file', datacenter: 'north', services: [{ Name: 'api', Port: 81 }] })
  const config = resolveConfig({ dataDir: dir, configFile: path, configDir: [confDir], dnsPort: 7600 })
  t.equal(config.nodeName, 'from-file')
  t.equal(config.datacenter, 'west', 'the last file in name order wins')
  t.equal(config.httpPort, 9500, 'nested objects merge key by key')
  t.equal(config.dnsPort, 7600, 'flags override every file')
  t.same(config.services.map(service => service.Name), ['api', 'db', 'web'])
  t.same(config.checks, [{ Name: 'disk', TTL: '30s' }])
})

t.test('a bad file in a --config-dir is refused naming the file', async (t) => {
  const confDir = mkdtempSync(join(dir, 'bad-'))
  writeFileSync(join(confDir, 'a.json'), '{"services": [')
  t.throws(() => resolveConfig({ dataDir: dir, configDir: [confDir] }), new RegExp(`config file ${join(confDir, 'a.json')} is not valid JSON`))
  writeFileSync(join(confDir, 'a.json'), '{"colour": "blue"}')
  t.throws(() => resolveConfig({ dataDir: dir, configDir: [confDir] }), /a\.json: unknown key "colour"/)
  t.throws(() => resolveConfig({ dataDir: dir, configDir: [join(dir, 'absent')] }), /cannot read config dir .*absent: ENOENT/)
})

t.test('the limits block overrides listener limits by Consul-style keys; the rest keep their defaults', async (t) => {
  const defaults = resolveConfig({ dataDir: dir, node: 'n1' }).listenerLimits
  t.same(defaults.http, DEFAULT_LISTENER_LIMITS.http, 'no limits block: the documented defaults')
  t.same(defaults.sidecarInbound, DEFAULT_LISTENER_LIMITS.sidecarInbound)
  const path = file('limits.json', {
    limits: {
      http_max_conns_per_client: 20, rpc_handshake_timeout: '2s', dns_idle_timeout: '1500ms',
      proxy_max_conns: 100, proxy_handshake_timeout: '0s', proxy_tcp_idle_timeout: '10m', proxy_upstream_max_conns: 7,
    },
  })
  const limits = resolveConfig({ dataDir: dir, node: 'n1', configFile: path }).listenerLimits
  t.equal(limits.http.maxConnectionsPerSource, 20)
  t.equal(limits.http.maxConnections, DEFAULT_LISTENER_LIMITS.http.maxConnections, 'keys not given keep their default')
  t.equal(limits.gossip.handshakeTimeoutMs, 2000)
  t.equal(limits.dnsTcp.idleTimeoutMs, 1500)
  t.equal(limits.sidecarInbound.maxConnections, 100)
  t.equal(limits.sidecarInbound.handshakeTimeoutMs, 0, '"0s" disables a deadline')
  t.equal(limits.sidecarUpstream.maxConnections, 7)
  t.equal(limits.tcpProxyIdleTimeoutMs, 600_000)
  for (const [limitsBlock, message] of [
    [{ http_max_conns: 0 }, /limits.http_max_conns must be a positive integer/],
    [{ http_max_conns: '10' }, /limits.http_max_conns must be a positive integer/],
    [{ rpc_handshake_timeout: 5 }, /limits.rpc_handshake_timeout must be a duration/],
    [{ rpc_handshake_timeout: 'soon' }, /limits.rpc_handshake_timeout/],
    [{ http_max_conn: 1 }, /limits: unknown key "http_max_conn"/],
    ['many', /limits must be a object/],
  ] as const) {
    const bad = file('bad-limits.json', { limits: limitsBlock })
    t.throws(() => resolveConfig({ dataDir: dir, node: 'n1', configFile: bad }), message, JSON.stringify(limitsBlock))
  }
})

t.test('bound to 0.0.0.0, the agent advertises the first non-loopback IPv4 address, and warns when there is none', async (t) => {
  const lo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }
  const v6 = { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6' as const, mac: '02:42:ac:11:00:02', internal: false, cidr: 'fe80::1/64', scopeid: 2 }
  const eth0 = { address: '172.17.0.2', netmask: '255.255.0.0', family: 'IPv4' as const, mac: '02:42:ac:11:00:02', internal: false, cidr: '172.17.0.2/16' }
  const eth1 = { ...eth0, address: '10.0.0.5', cidr: '10.0.0.5/8' }

  const bridged = resolveConfig({ dataDir: dir, node: 'n1' }, { interfaces: () => ({ lo: [lo], eth0: [v6, eth0], eth1: [eth1] }) })
  t.equal(bridged.advertiseAddress, '172.17.0.2', 'the first interface\'s IPv4 address, IPv6 and loopback skipped')
  t.same(bridged.warnings, [])

  const isolated = resolveConfig({ dataDir: dir, node: 'n1', bind: '0.0.0.0:8301' }, { interfaces: () => ({ lo: [lo] }) })
  t.equal(isolated.advertiseAddress, '127.0.0.1', 'no other address: loopback')
  t.match(isolated.warnings, [/advertising 127\.0\.0\.1, which only agents on this machine can reach; pass --advertise/])

  const explicit = resolveConfig({ dataDir: dir, node: 'n1', advertise: '127.0.0.1' }, { interfaces: () => ({ lo: [lo] }) })
  t.same(explicit.warnings, [], '--advertise given: no warning')
  const specific = resolveConfig({ dataDir: dir, node: 'n1', bind: '127.0.0.5' }, { interfaces: () => ({ lo: [lo] }) })
  t.equal(specific.advertiseAddress, '127.0.0.5', 'a specific bind address is advertised as is')
  t.same(specific.warnings, [])
})

t.test('--join keeps host names for the join to resolve; a malformed one is refused', async (t) => {
  const config = resolveConfig({ dataDir: dir, node: 'n1', join: ['mesh-1', 'mesh-2.example:9301', 'mesh-3.example.:9301', '10.0.0.1', '[::1]:8301'] })
  t.same(config.join, ['mesh-1:8301', 'mesh-2.example:9301', 'mesh-3.example.:9301', '10.0.0.1:8301', '[::1]:8301'], 'a fully qualified name with its trailing dot too, as the CLI accepts it')
  t.throws(() => resolveConfig({ dataDir: dir, node: 'n1', join: ['mesh_1:8301'] }), /--join must be an IP address or host name/)
})
