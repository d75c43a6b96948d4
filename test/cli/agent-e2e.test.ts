// The CLI against a real agent (`mesh agent start --dev` on free ports): the contract between
// cli/ and agent/http/ checked end to end, where the other tests use a fake agent.

import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MESH_BIN, runCli } from './fixtures/run-cli.ts'

// Loading the agent and forming a one-node cluster takes seconds on a loaded 2-core machine.
t.setTimeout(180_000)
const BANNER_TIMEOUT_MS = 60_000

t.test('a dev agent driven only through the mesh command', async t => {
  const dataDir = t.testdir({})
  const agent = spawn(process.execPath, [MESH_BIN, 'agent', 'start', '--dev', '--node', 'cli-e2e', '--http-port', '0',
    '--dns-port', '-1', '--bind', '127.0.0.1:0', '--data-dir', join(dataDir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise(resolve => agent.on('close', resolve))
  t.teardown(async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL')
    await exited
  })
  let output = ''
  const httpAddr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within ${BANNER_TIMEOUT_MS} ms:\n${output}`)), BANNER_TIMEOUT_MS)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /HTTP API: (http:\/\/\S+)/.exec(output)
      if (match !== null) { clearTimeout(timer); resolve(match[1]) }
    }
    agent.stdout.on('data', onData)
    agent.stderr.on('data', onData)
    agent.on('close', code => { clearTimeout(timer); reject(new Error(`agent exited with ${code}:\n${output}`)) })
  })
  const mesh = (...args: string[]) => runCli(args, { httpAddr })

  const members = await mesh('members', '--format', 'json')
  t.equal(members.code, 0, members.stderr)
  t.same(JSON.parse(members.stdout).map((member: { Name: string, Status: number }) => [member.Name, member.Status]), [['cli-e2e', 1]])

  const register = await mesh('register', '--name', 'web', '--port', '8080', '--tag', 'v1', '--check-ttl', '30s')
  t.equal(register.code, 0, register.stderr)
  const health = await mesh('health', 'web')
  t.match(health.stdout, /^cli-e2e +web +127\.0\.0\.1:8080 +critical +v1$/m, 'a TTL check starts critical')

  const created = await mesh('intentions', 'deny', 'web', 'db')
  t.equal(created.code, 0, created.stderr)
  t.equal(created.stdout, 'Created: web => db (deny)\n')
  const denied = await mesh('intentions', 'check', 'web', 'db')
  t.equal(denied.code, 1)
  t.equal(denied.stdout, 'Denied\n')
  const again = await mesh('intentions', 'deny', 'web', 'db')
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, 'Unchanged: web => db (deny)\n', 'running the README walk-through twice works')
  const changed = await mesh('intentions', 'allow', 'web', 'db')
  t.equal(changed.code, 0, changed.stderr)
  t.equal(changed.stdout, 'Changed: web => db (deny → allow)\n')
  t.equal((await mesh('intentions', 'check', 'web', 'db')).stdout, 'Allowed\n')
  const replaced = await mesh('intentions', 'deny', 'web', 'db', '--replace', '--format', 'json')
  t.equal(replaced.code, 0, replaced.stderr)
  t.match(JSON.parse(replaced.stdout), { Result: 'changed', Intention: { SourceName: 'web', DestinationName: 'db', Action: 'deny', ID: String } })
  const deleted = await mesh('intentions', 'delete', 'web', 'db')
  t.equal(deleted.stdout, 'Deleted: web => db (deny)\n', deleted.stderr)
  const absent = await mesh('intentions', 'delete', 'web', 'db')
  t.equal(absent.code, 0, absent.stderr)
  t.equal(absent.stdout, 'Already absent: web => db\n')
  const goneService = await mesh('deregister', 'no-such-service')
  t.equal(goneService.code, 0, goneService.stderr)
  t.equal(goneService.stdout, 'Already absent: service no-such-service\n')
  const goneEntry = await mesh('config', 'delete', '--kind', 'service-resolver', '--name', 'no-such-resolver')
  t.equal(goneEntry.code, 0, goneEntry.stderr)
  t.equal(goneEntry.stdout, 'Already absent: config entry service-resolver/no-such-resolver\n')

  const intentionsFile = join(t.testdir({ 'api.json': JSON.stringify([
    { SourceName: 'web', DestinationName: 'api', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1/' } }] },
    { SourceName: 'admin', DestinationName: 'api', Action: 'allow' },
  ]) }), 'api.json')
  const applied = await mesh('intentions', 'apply', intentionsFile, '--format', 'json')
  t.same(JSON.parse(applied.stdout).map((line: { Result: string }) => line.Result), ['created', 'created'], applied.stderr)
  const reapplied = await mesh('intentions', 'apply', intentionsFile, '--format', 'json')
  t.same(JSON.parse(reapplied.stdout).map((line: { Result: string }) => line.Result), ['unchanged', 'unchanged'], reapplied.stderr)

  const configDir = t.testdir({
    '00-global.json': JSON.stringify({ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } }),
    '10-web.json': JSON.stringify({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
  })
  const first = await mesh('config', 'apply', configDir, '--format', 'json')
  t.same(JSON.parse(first.stdout).map((line: { Result: string }) => line.Result), ['created', 'created'], first.stderr)
  const second = await mesh('config', 'apply', configDir, '--format', 'json')
  t.same(JSON.parse(second.stdout).map((line: { Result: string }) => line.Result), ['unchanged', 'unchanged'],
    'the agent\'s echo of an entry compares equal to the file')

  const tlsDir = join(dataDir, 'tls')
  const leaf = await mesh('ca', 'leaf', 'web', '--out', tlsDir)
  t.equal(leaf.code, 0, leaf.stderr)
  const chain = readFileSync(join(tlsDir, 'web.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/).filter(pem => pem.trim() !== '')
  const root = new X509Certificate(readFileSync(join(tlsDir, 'ca.pem')))
  const certificates = chain.map(pem => new X509Certificate(pem))
  t.match(certificates[0].subjectAltName, /URI:spiffe:\/\/[^/]+\.consul\/ns\/default\/dc\/dc1\/svc\/web/)
  t.ok(certificates.at(-1)?.verify(root.publicKey), 'the chain ends at the root in ca.pem')
  t.equal(statSync(join(tlsDir, 'web.key')).mode & 0o777, 0o600)

  const leave = await mesh('leave')
  t.equal(leave.code, 0, leave.stderr)
  t.equal(await exited, 0, 'the agent exits after a graceful leave')
})
