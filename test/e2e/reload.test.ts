// Live reload against a real agent process: edit its --config-dir, then SIGHUP, then `mesh reload`,
// then an invalid file. Addresses: 127.0.0.51 only (gossip and HTTP).

import t from 'tap'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster, http, waitFor } from './harness.ts'
import type { AgentProcess } from './harness.ts'
import { runCli } from '../cli/fixtures/run-cli.ts'

t.setTimeout(180_000)

const ADDRESS = '127.0.0.51'

const serviceIds = async (agent: AgentProcess): Promise<string[]> =>
  Object.keys((await http(agent, 'GET', '/v1/agent/services')).body as Record<string, unknown>).sort()
const catalogServices = async (agent: AgentProcess): Promise<string[]> =>
  Object.keys((await http(agent, 'GET', '/v1/catalog/services')).body as Record<string, unknown>).filter(name => name !== 'consul').sort()
const checks = async (agent: AgentProcess): Promise<Record<string, { Type: string, Interval: string, ServiceID: string }>> =>
  (await http(agent, 'GET', '/v1/agent/checks')).body as Record<string, { Type: string, Interval: string, ServiceID: string }>
const logLevel = async (agent: AgentProcess): Promise<unknown> =>
  ((await http(agent, 'GET', '/v1/agent/self')).body as { Mesh: { LogLevel: unknown } }).Mesh.LogLevel
const sameList = (expected: string[]) => (actual: string[]) => JSON.stringify(actual) === JSON.stringify(expected)

t.test('SIGHUP and mesh reload apply config-dir edits; an invalid file changes nothing', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const configDir = cluster.tempDir('mesh-reload-config-')
  const write = (name: string, content: unknown): void => writeFileSync(join(configDir, name), typeof content === 'string' ? content : JSON.stringify(content))
  write('10-agent.json', { log_level: 'info', datacenter: 'dc1' })
  write('20-services.json', {
    services: [
      { Name: 'web', Port: 8080, Check: { TTL: '30s' } },
      { Name: 'legacy', Port: 8081 },
    ],
  })
  write('30-checks.json', { check: { Name: 'disk', TTL: '1m' } })

  const agent = await cluster.start({ name: 'reload-1', bindAddress: ADDRESS, clientAddress: ADDRESS, logLevel: null, args: ['--config-dir', configDir] })
  t.equal(agent.httpUrl.startsWith(`http://${ADDRESS}:`), true)
  t.same(await serviceIds(agent), ['legacy', 'web'])
  t.equal(await logLevel(agent), 'info')
  const registered = await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'from-api', Port: 7000, Check: { TTL: '10s' } })
  t.equal(registered.status, 200, registered.text)

  // Edit: add a service, remove one, change a check, raise the log level; then SIGHUP.
  write('10-agent.json', { log_level: 'debug', datacenter: 'dc1' })
  write('20-services.json', { services: [{ Name: 'web', Port: 8080, Check: { TTL: '30s' } }, { Name: 'billing', Port: 9090 }] })
  write('30-checks.json', { check: { Name: 'disk', TCP: `${ADDRESS}:1`, Interval: '30s' } })
  agent.process.kill('SIGHUP')
  await waitFor('the catalog to show the SIGHUP reload', async () => sameList(['billing', 'from-api', 'web'])(await catalogServices(agent)))
  t.same(await serviceIds(agent), ['billing', 'from-api', 'web'], 'legacy removed, billing added, the API registration kept')
  const afterHup = await checks(agent)
  t.match(afterHup.disk, { Type: 'tcp', Interval: '30s' }, 'the disk check was replaced by its new definition')
  t.ok(afterHup['service:from-api'], 'the API-registered service keeps its check')
  t.equal(await logLevel(agent), 'debug')
  await waitFor('the reload to be logged', async () => agent.output().includes('reloaded: 1 service added (billing), 1 removed (legacy), 1 check updated (disk), log level info→debug'))
  t.equal(agent.process.exitCode, null, 'SIGHUP did not stop the agent')

  // Edit again and reload through the CLI; a datacenter change needs a restart.
  write('10-agent.json', { log_level: 'info', datacenter: 'dc2' })
  write('20-services.json', { services: [{ Name: 'web', Port: 8080, Check: { TTL: '30s' } }, { Name: 'billing', Port: 9090 }, { Name: 'search', Port: 9200 }] })
  const reloaded = await runCli(['reload', '--http-addr', agent.httpUrl])
  t.equal(reloaded.code, 0, reloaded.stderr)
  t.equal(reloaded.stdout, 'reloaded: 1 service added (search), log level debug→info; restart needed for: datacenter\n')
  t.same(await catalogServices(agent), ['billing', 'from-api', 'search', 'web'])
  t.equal(await logLevel(agent), 'info')
  t.match(agent.output(), /\[WARN\] +mesh:reload: configuration field changed; it takes effect only after a restart field=datacenter/)
  const self = (await http(agent, 'GET', '/v1/agent/self')).body as { Config: { Datacenter: string } }
  t.equal(self.Config.Datacenter, 'dc1', 'the datacenter stays until a restart')

  // An invalid file: the reload fails, over HTTP and on SIGHUP, and nothing changes.
  write('20-services.json', { services: [{ Name: 'web', Port: 8080 }] })
  write('40-broken.json', '{ "services": [')
  const failed = await runCli(['reload', '--http-addr', agent.httpUrl])
  t.equal(failed.code, 1)
  t.equal(failed.stdout, '')
  t.match(failed.stderr, /^Error: PUT \/v1\/agent\/reload failed with 500: config file .*40-broken\.json is not valid JSON: .*\n$/)
  const direct = await http(agent, 'PUT', '/v1/agent/reload')
  t.equal(direct.status, 500)
  t.match(direct.text, /40-broken\.json is not valid JSON/)
  const errorsBefore = agent.output().split('reload failed: the configuration is invalid').length
  agent.process.kill('SIGHUP')
  await waitFor('the SIGHUP reload to fail', async () => agent.output().split('reload failed: the configuration is invalid').length > errorsBefore)
  t.same(await catalogServices(agent), ['billing', 'from-api', 'search', 'web'], 'nothing was applied')
  t.equal(await logLevel(agent), 'info')
  t.equal(agent.process.exitCode, null, 'the agent keeps running')

  // A definition that validation refuses fails the same way, naming it.
  rmSync(join(configDir, '40-broken.json'))
  write('20-services.json', { services: [{ Name: 'web', Port: 8080 }, { Port: 1 }] })
  const refused = await http(agent, 'PUT', '/v1/agent/reload')
  t.equal(refused.status, 500)
  t.equal(refused.text, 'services[1]: Missing service name')
  t.same(await catalogServices(agent), ['billing', 'from-api', 'search', 'web'])

  t.equal(await cluster.stop(agent), 0)
})
