// The image and docker-compose.yml for real: build the image from the Dockerfile without any
// network (a debootstrapped base and the dependencies from the build context), start the three
// compose agents on 127.0.0.61-63 with free ports, and check that they find each other by host
// name, replicate a registration that DNS answers on another agent, run the CLI inside the
// container as the unprivileged user, pass the image's health check, leave gracefully on
// `docker stop`, and that `down -v` leaves nothing behind. The image's default command runs once
// in a container without a network. Skips, saying why, where there is no Docker daemon or compose.
// Run with `npm run test:docker`; it is not part of `npm test`.

import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { Resolver } from 'node:dns/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, http, members, waitFor } from '../e2e/harness.ts'
import type { HttpAgent } from '../e2e/harness.ts'
import { REPO_ROOT, buildMeshImage, composeCommand, dockerUnavailable, ensureBaseImage, imageExists, run, runOk } from './docker.ts'

const ADDRESSES = ['127.0.0.61', '127.0.0.62', '127.0.0.63']
const NAMES = ['mesh-1', 'mesh-2', 'mesh-3']
const LEFT = 3

/** The base image's tag, or why the test cannot run here. */
async function prepare (): Promise<{ tag: string } | { unavailable: string }> {
  const docker = await dockerUnavailable()
  if (docker !== undefined) return { unavailable: docker }
  if (await composeCommand() === undefined) return { unavailable: 'neither `docker compose` nor `docker-compose` is installed' }
  const given = process.env.MESH_TEST_BASE_IMAGE
  if (given !== undefined) return { tag: given }
  const base = await ensureBaseImage((line) => t.comment(line))
  return 'unavailable' in base ? { unavailable: `no base image: ${base.unavailable}` } : base
}

const base = await prepare()
const reason = 'unavailable' in base ? base.unavailable : undefined

t.test('docker compose runs a three-agent cluster from the image', { skip: reason ?? false, timeout: 900_000 }, async (t) => {
  if ('unavailable' in base) return
  const compose = (await composeCommand())!
  const workDir = mkdtempSync(join(tmpdir(), 'mesh-docker-'))
  const image = `mesh-test:${process.pid}`
  const project = `mesh-docker-test-${process.pid}`
  const [gossipPort, httpPort, dnsPort] = [await freePort(), await freePort(), await freePort()]
  const env = {
    MESH_IMAGE: image,
    MESH_1_ADDR: ADDRESSES[0],
    MESH_2_ADDR: ADDRESSES[1],
    MESH_3_ADDR: ADDRESSES[2],
    MESH_GOSSIP_PORT: String(gossipPort),
    MESH_HTTP_PORT: String(httpPort),
    MESH_DNS_PORT: String(dnsPort),
  }
  const composeArgs = (...args: string[]): string[] => [...compose.slice(1), '--project-name', project, '--project-directory', REPO_ROOT, '--file', join(REPO_ROOT, 'docker-compose.yml'), ...args]
  const composeRun = async (...args: string[]): Promise<string> => await runOk(compose[0], composeArgs(...args), { env })
  const projectContainers = async (): Promise<string> => (await runOk('docker', ['ps', '--all', '--quiet', '--filter', `label=com.docker.compose.project=${project}`])).trim()
  const projectVolumes = async (): Promise<string> => (await runOk('docker', ['volume', 'ls', '--quiet', '--filter', `label=com.docker.compose.project=${project}`])).trim()

  t.teardown(async () => {
    const down = await run(compose[0], composeArgs('down', '--volumes', '--remove-orphans', '--timeout', '15'), { env })
    if (down.code !== 0) t.comment(`compose down: ${down.stderr}`)
    await run('docker', ['image', 'rm', '--force', image])
    rmSync(workDir, { recursive: true, force: true })
  })

  const build = await buildMeshImage(image, base.tag, workDir)
  t.match(build, /dependencies: node_modules\.tar from the build context/, 'the build used the context\'s dependencies, not npm ci')
  t.match(build, /mesh v\d+\.\d+\.\d+\s+Node v24\./, 'the image runs mesh on Node 24')
  t.ok(await imageExists(image), `image ${image} built from ${base.tag} with --network none`)

  // The default command, in a container without a network: bound to 0.0.0.0 with no address but
  // loopback, the agent advertises 127.0.0.1 and says that others cannot reach it.
  const isolated = `${project}-isolated`
  t.teardown(async () => { await run('docker', ['rm', '--force', '--volumes', isolated]) })
  await runOk('docker', ['run', '--detach', '--name', isolated, '--network', 'none', image])
  const isolatedLogs = await waitFor('the isolated agent\'s banner', async () => {
    const logs = await run('docker', ['logs', isolated])
    return /HTTP API: /.test(logs.stdout) ? logs.stdout + logs.stderr : undefined
  }, 60_000, 250)
  t.match(isolatedLogs, /Gossip: 127\.0\.0\.1:8301 /, 'the default command gossips on 8301 and advertises 127.0.0.1')
  t.match(isolatedLogs, /HTTP API: http:\/\/0\.0\.0\.0:8500/, 'with the HTTP API on every address of the container')
  t.match(isolatedLogs, /no non-loopback IPv4 address: advertising 127\.0\.0\.1/, 'and warns that only this machine can reach it')
  await runOk('docker', ['rm', '--force', '--volumes', isolated])

  try {
    await composeRun('up', '--detach', '--no-build')
    const agents: HttpAgent[] = ADDRESSES.map((address) => ({ httpUrl: `http://${address}:${httpPort}` }))

    // mesh-2 and mesh-3 were given only host names to join (mesh-1:PORT, mesh-2:PORT).
    for (const [index, agent] of agents.entries()) {
      const seen = await waitFor(`${NAMES[index]} to see three alive members`, async () => {
        const list = await members(agent)
        return list.length === 3 && list.every((member) => member.Status === 1) ? list : undefined
      }, 90_000, 500)
      t.same(seen.map((member) => `${member.Name} ${member.Addr}:${member.Port}`).sort(),
        NAMES.map((name, i) => `${name} ${ADDRESSES[i]}:${gossipPort}`), `${NAMES[index]} sees the three agents at their advertised addresses`)
    }
    const mesh2Logs = await composeRun('logs', '--no-color', 'mesh-2')
    t.match(mesh2Logs, new RegExp(`joined the cluster address=mesh-1:${gossipPort}`), 'mesh-2 joined through the host name mesh-1')

    const registered = await http(agents[0], 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v1'] })
    t.equal(registered.status, 200, 'web registered on mesh-1')
    const resolver = new Resolver({ timeout: 2000, tries: 1 })
    resolver.setServers([`${ADDRESSES[2]}:${dnsPort}`])
    const srv = await waitFor('web.service.consul on mesh-3', async () => {
      const records = await resolver.resolveSrv('web.service.consul')
      return records.length > 0 ? records : undefined
    }, 30_000, 200)
    t.same(srv.map((record) => record.port), [8080], 'mesh-3\'s DNS answers the SRV record of the service registered on mesh-1')
    t.same(await resolver.resolve4('web.service.consul'), [ADDRESSES[0]], 'and its A record is mesh-1\'s address')

    const cli = await composeRun('exec', '-T', 'mesh-3', 'mesh', 'members')
    for (const name of NAMES) t.match(cli, new RegExp(`^${name}\\s+\\S+\\s+alive`, 'm'), `\`mesh members\` inside the mesh-3 container lists ${name}`)
    t.equal((await composeRun('exec', '-T', 'mesh-1', 'id', '-u')).trim(), '10001', 'the agent runs as the unprivileged mesh user')

    // The image's HEALTHCHECK (`mesh members` every 30 s) asks the agent at MESH_HTTP_ADDR.
    const mesh2 = (await composeRun('ps', '--quiet', 'mesh-2')).trim()
    const health = await waitFor('mesh-2\'s health check', async () => {
      const status = (await runOk('docker', ['inspect', '--format', '{{.State.Health.Status}}', mesh2])).trim()
      return status === 'starting' ? undefined : status
    }, 90_000, 1000)
    t.equal(health, 'healthy', 'the health check passes against the agent\'s own HTTP address')

    await composeRun('stop', '--timeout', '15', 'mesh-1')
    const left = await waitFor('mesh-3 to see mesh-1 leave', async () => {
      const list = await members(agents[2])
      return list.find((member) => member.Name === 'mesh-1')?.Status === LEFT ? list : undefined
    }, 30_000, 200)
    t.ok(left, 'docker stop made mesh-1 leave gracefully (left, not failed): SIGTERM reaches node as PID 1')
  } catch (error) {
    const logs = await run(compose[0], composeArgs('logs', '--no-color', '--tail', '60'), { env })
    t.comment(`compose logs:\n${logs.stdout}${logs.stderr}`)
    throw error
  }

  await composeRun('down', '--volumes', '--remove-orphans', '--timeout', '15')
  t.equal(await projectContainers(), '', 'compose down removed every container')
  t.equal(await projectVolumes(), '', 'compose down -v removed the data volumes')
})
