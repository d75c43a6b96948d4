// Specification of the catalog's part of the data dir (agent/catalog-data.ts): a damaged catalog
// refuses the start with MESH_ERR_AGENT_DATA_DIR naming the data dir, the file and the fix;
// `recover` keeps the damaged directory aside, opens what is readable in recovering mode and says
// so; an intact catalog opens as usual with or without it; RecoveryTracker ends recovery after a
// sync that brought nothing more back and logs what was restored.

import t from 'tap'
import type { Test } from 'tap'
import { readdirSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { Catalog } from '../../catalog/catalog.ts'
import { catalogPath, openAgentCatalog, RecoveryTracker } from '../../agent/catalog-data.ts'
import { nodeRecord, serviceRecord } from '../catalog/fixtures.ts'

function capturingLog (): { log: pino.Logger, lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done() } })
  return { log: pino({ level: 'info' }, stream), lines: () => lines }
}

async function dataDirWithServices (t: Test, count: number): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mesh-data-'))
  t.teardown(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const catalog = await Catalog.open({ path: catalogPath(dataDir), self: nodeRecord('self') })
  for (let i = 0; i < count; i++) await catalog.registerService(serviceRecord(`web-${i}`), [])
  await catalog.close()
  return dataDir
}

t.test('a damaged catalog refuses the start, naming the data dir, the file and the fix', async t => {
  const dataDir = await dataDirWithServices(t, 3)
  rmSync(join(catalogPath(dataDir), 'CURRENT'))
  const { log } = capturingLog()
  const error = await openAgentCatalog({ dataDir, recover: false, sync: true, self: nodeRecord('self'), log }).then(() => undefined, (error: unknown) => error)
  t.match(error, { code: 'MESH_ERR_AGENT_DATA_DIR', name: 'DataDirError' })
  const message = (error as Error).message
  t.match(message, `data dir ${dataDir} is damaged (MESH_ERR_AGENT_DATA_DIR)`)
  t.match(message, 'CURRENT: CURRENT is missing')
  t.match(message, 'run `mesh agent start --recover` with the same flags')
  t.match(message, `or move ${dataDir} away`)
  t.same(readdirSync(dataDir), ['catalog'], 'nothing was moved or created')
})

t.test('recover: the damaged catalog is kept aside, what is readable is opened in recovering mode, and a WARN says so', async t => {
  const dataDir = await dataDirWithServices(t, 3)
  rmSync(join(catalogPath(dataDir), 'CURRENT'))
  const { log, lines } = capturingLog()
  const catalog = await openAgentCatalog({ dataDir, recover: true, sync: true, self: nodeRecord('self'), log })
  t.teardown(async () => await catalog.close())
  t.ok(catalog.recovering, 'recovering')
  t.same(catalog.localServices().map(service => service.ID).sort(), ['web-0', 'web-1', 'web-2'], 'the repaired copy kept every intact record')
  const aside = readdirSync(dataDir).filter(name => name.startsWith('catalog.damaged-'))
  t.equal(aside.length, 1, 'the damaged directory is kept')
  const warning = lines().find(line => line.level === 40 && String(line.msg).startsWith('--recover: the catalog was damaged'))
  t.match(warning, { damaged: join(dataDir, aside[0]), file: 'CURRENT', salvaged: true, kept: { services: 3, checks: 0 } }, 'the WARN names the damage, where it is kept and what was kept')

  const tracker = new RecoveryTracker(catalog, log)
  await tracker.synced('peer-1')
  t.ok(catalog.recovering, 'the first sync only counts what came back')
  await tracker.synced('peer-1')
  t.notOk(catalog.recovering, 'a sync that brought nothing more ends recovery')
  t.match(lines().find(line => String(line.msg).startsWith('recovered:')), { level: 40, peer: 'peer-1', lost: { node: 0, service: 0, check: 0 } })
})

t.test('an intact catalog opens as usual, with or without recover', async t => {
  const dataDir = await dataDirWithServices(t, 2)
  const { log, lines } = capturingLog()
  const catalog = await openAgentCatalog({ dataDir, recover: true, sync: true, self: nodeRecord('self'), log })
  t.teardown(async () => await catalog.close())
  t.notOk(catalog.recovering)
  t.equal(catalog.localServices().length, 2)
  t.same(readdirSync(dataDir), ['catalog'])
  t.ok(lines().some(line => String(line.msg).includes('nothing to recover')))
})
