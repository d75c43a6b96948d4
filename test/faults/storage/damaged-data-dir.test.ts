// Each kind of damage to the catalog's LevelDB directory, in turn, on real agent processes: the
// agent refuses to start with MESH_ERR_AGENT_DATA_DIR naming the data dir and the damaged file
// (never a silent loss: a write-ahead log cut to 3/4 is refused too, though LevelDB alone would
// open it without a word), then `--recover` with a peer restores every registration, logs what
// was lost, keeps the damaged directory aside, and leaves a data dir that restarts normally.

import t from 'tap'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster, http, waitFor } from '../../e2e/harness.ts'
import type { AgentProcess } from '../../e2e/harness.ts'

const PEER_ADDRESS = '127.0.0.82'
const VICTIM_ADDRESS = '127.0.0.81'
const SERVICES = 150

interface Damage {
  name: string
  /** Puts what the damage needs on disk (e.g. a table file) before the agent is killed for good. */
  compact: boolean
  apply: (catalogDir: string) => void
  /** The file the refusal must name. */
  file: RegExp
  /** Whether some registrations are really gone from the directory (restored from the peer). */
  loses: boolean
}

const files = (dir: string, pattern: RegExp): string[] => readdirSync(dir).filter(name => pattern.test(name)).sort()
const largest = (dir: string, pattern: RegExp): string => {
  const names = files(dir, pattern)
  if (names.length === 0) throw new Error(`no file matching ${String(pattern)} in ${dir}: ${readdirSync(dir).join(', ')}`)
  return join(dir, names.reduce((a, b) => statSync(join(dir, a)).size >= statSync(join(dir, b)).size ? a : b))
}
const garble = (path: string, from: number, length: number): void => {
  const bytes = readFileSync(path)
  for (let i = from; i < Math.min(bytes.length, from + length); i++) bytes[i] ^= 0x5a
  writeFileSync(path, bytes)
}

const damages: Damage[] = [
  {
    name: 'write-ahead log cut to 3/4',
    compact: false,
    apply: dir => { const log = largest(dir, /^\d{6}\.log$/); truncateSync(log, Math.floor(statSync(log).size * 3 / 4)) },
    file: /\d{6}\.log/,
    loses: true,
  },
  { name: 'CURRENT deleted', compact: false, apply: dir => { rmSync(join(dir, 'CURRENT')) }, file: /CURRENT is missing/, loses: false },
  { name: 'CURRENT garbled', compact: false, apply: dir => { writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-\x00\x01garbage') }, file: /CURRENT/, loses: false },
  { name: 'MANIFEST garbled', compact: false, apply: dir => { const manifest = largest(dir, /^MANIFEST-\d+$/); garble(manifest, 0, statSync(manifest).size) }, file: /MANIFEST-\d+/, loses: false },
  {
    name: 'table file garbled',
    compact: true,
    // In a block of services: their IDs stay legible in the compressed blocks.
    apply: dir => { const table = largest(dir, /^\d{6}\.ldb$/); garble(table, readFileSync(table).indexOf('-svc-'), 64) },
    file: /\d{6}\.ldb/,
    // Every start re-versions this node's records into the write-ahead log, so the newest copy of
    // each is still in the log: the refusal is right (a block does not read back) and repair keeps all.
    loses: false,
  },
]

async function registered (agent: AgentProcess): Promise<Record<string, unknown>> {
  const answer = await http(agent, 'GET', '/v1/agent/services')
  if (answer.status !== 200) throw new Error(`agent services: HTTP ${answer.status}`)
  return answer.body as Record<string, unknown>
}

t.test('each damage of the data dir: refused with MESH_ERR_AGENT_DATA_DIR and the file, then --recover restores from a peer', async t => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const peer = await cluster.start({ name: 'keeper', bindAddress: PEER_ADDRESS, args: ['--client', PEER_ADDRESS] })

  for (const [n, damage] of damages.entries()) {
    await t.test(damage.name, async t => {
      const name = `victim-${n}`
      const dataDir = cluster.tempDir(`mesh-${name}-`)
      const catalogDir = join(dataDir, 'catalog')
      const options = { name, dataDir, bindAddress: VICTIM_ADDRESS, join: [peer.gossipAddr], args: ['--client', VICTIM_ADDRESS] }

      let victim = await cluster.start(options)
      const ids = Array.from({ length: SERVICES }, (_, i) => `${name}-svc-${i}`)
      for (const id of ids) {
        const answer = await http(victim, 'PUT', '/v1/agent/service/register', { ID: id, Name: `app-${id.length % 7}`, Port: 2000 + Number(id.split('-').pop()), Tags: ['v1'], Meta: { owner: name } })
        t.equal(answer.status, 200, `registered ${id}`, { diagnostic: answer.status !== 200 })
      }
      await waitFor(`the peer to hold all of ${name}'s services`, async () => {
        const answer = await http(peer, 'GET', `/v1/catalog/node/${name}`)
        return answer.status === 200 && ids.every(id => Object.hasOwn((answer.body as { Services: object }).Services, id))
      })
      await cluster.kill(victim)
      if (damage.compact) {
        // Opening moves the write-ahead log into a table file (.ldb).
        await cluster.kill(await cluster.start(options))
        t.ok(files(catalogDir, /\.ldb$/).length > 0, 'a table file exists to damage')
      }

      damage.apply(catalogDir)

      const refused = await cluster.startRefused(options)
      t.equal(refused.code, 1, 'the damaged agent exits 1')
      t.match(refused.output, 'MESH_ERR_AGENT_DATA_DIR', 'with the error code')
      t.match(refused.output, `data dir ${dataDir} is damaged`, 'naming the data dir')
      t.match(refused.output, damage.file, 'naming what is damaged')
      t.match(refused.output, 'mesh agent start --recover', 'and the fix')
      t.notMatch(refused.output, 'mesh agent running', 'it never started')

      victim = await cluster.start({ ...options, args: [...options.args, '--recover'] })
      t.match(victim.output(), /--recover: the catalog was damaged/, 'the recovering agent warns what was damaged')
      await waitFor(`${name} to hold all its services again`, async () => {
        const held = await registered(victim)
        return ids.every(id => Object.hasOwn(held, id))
      }, 30_000)
      const restored = await waitFor('the recovery to finish', async () => /lost (\d+) services, (\d+) checks and (\d+) node records/.exec(victim.output()) ?? undefined, 30_000)
      if (damage.loses) t.ok(Number(restored[1]) + Number(restored[3]) > 0, `what was lost came back from the peer: ${restored[0]}`, { output: victim.output() })
      const held = await registered(victim)
      t.same(ids.filter(id => (held[id] as { Meta?: { owner?: string } } | undefined)?.Meta?.owner !== name), [], 'every registration is back, as registered')
      t.equal(files(dataDir, /^catalog\.damaged-/).length, 1, 'the damaged directory is kept aside')
      t.ok(existsSync(join(catalogDir, 'MESH-ACKED')), 'the recovered catalog keeps an acknowledged-writes mark')

      // The recovered data dir is sound: a new write survives a crash and a plain restart.
      t.equal((await http(victim, 'PUT', '/v1/agent/service/register', { ID: `${name}-after`, Name: 'after', Port: 9999 })).status, 200)
      await cluster.kill(victim)
      victim = await cluster.start(options)
      const again = await registered(victim)
      t.ok(ids.every(id => Object.hasOwn(again, id)) && Object.hasOwn(again, `${name}-after`), 'a plain restart after recovery holds everything')
      await cluster.kill(victim)
    })
  }
})
