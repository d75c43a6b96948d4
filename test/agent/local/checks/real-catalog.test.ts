// The checks and registration code against the real catalog (LevelDB in a temp dir), not the
// in-memory fixture: check definitions persist with their records, and a restarted agent runs its
// checks again from them with their last status.

import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Catalog } from '../../../../catalog/catalog.ts'
import { CheckManager } from '../../../../agent/local/checks/manager.ts'
import { deregisterLocalService, registerServicePayload } from '../../../../agent/local/register.ts'
import { ManualClock } from '../../../fixtures/manual-clock.ts'

const self = { Node: 'node-1', ID: 'id-node-1', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} }

t.test('checks survive a restart through their persisted definitions', async t => {
  const path = await mkdtemp(join(tmpdir(), 'mesh-checks-'))
  t.teardown(() => rm(path, { recursive: true, force: true }))

  let catalog = await Catalog.open({ path, self })
  let scheduler = new ManualClock()
  let manager = new CheckManager({ nodeName: 'node-1' }, { catalog, clock: scheduler, random: () => 0 })
  manager.start()
  const deps = () => ({ catalog, checks: manager, enableScriptChecks: false, nodeName: 'node-1', probePort: async () => undefined })
  await registerServicePayload(deps(), {
    Name: 'web', Port: 8080,
    Checks: [{ CheckID: 'ttl', TTL: '30s' }, { CheckID: 'tcp', TCP: '127.0.0.1:1', Interval: '10s' }],
    Connect: { SidecarService: {} },
  })
  await manager.updateTtl('ttl', 'passing', 'alive')
  t.same(manager.runningCheckIds().sort(), ['service:web-sidecar-proxy:1', 'service:web-sidecar-proxy:2', 'tcp', 'ttl'])
  manager.stop()
  await catalog.close()

  catalog = await Catalog.open({ path, self })
  scheduler = new ManualClock()
  manager = new CheckManager({ nodeName: 'node-1' }, { catalog, clock: scheduler, random: () => 0 })
  manager.start()
  t.teardown(async () => { manager.stop(); await catalog.close() })
  t.same(manager.runningCheckIds().sort(), ['service:web-sidecar-proxy:1', 'service:web-sidecar-proxy:2', 'tcp', 'ttl'])
  t.same([catalog.localCheck('ttl')?.Status, catalog.localCheck('ttl')?.Output], ['passing', 'alive'])
  t.ok(manager.isTtl('ttl'), 'the TTL check runs again from its definition')
  scheduler.advance(30_000)
  await manager.flush()
  t.same([catalog.localCheck('ttl')?.Status, catalog.localCheck('ttl')?.Output], ['critical', 'TTL expired'])

  t.ok(await deregisterLocalService(deps(), 'web'))
  t.same(catalog.localServices(), [])
  t.same(manager.runningCheckIds(), [])
})
