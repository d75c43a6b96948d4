// A data directory written by an earlier version can hold a service whose ID has a lone surrogate:
// at start it is removed, with its checks and a warning, and the rest stays.
import t from 'tap'
import { MemoryCatalogStore } from '../../../catalog/memory-store.ts'
import { dropUnaddressableRegistrations } from '../../../agent/local/unaddressable.ts'
import { checkRecord, memoryCatalog, serviceRecord } from '../../catalog/fixtures.ts'
import { captureLogger, LEVEL } from '../../fixtures/log-capture.ts'

t.test('services and checks with IDs no URL can spell are removed at start; others stay', async t => {
  const store = new MemoryCatalogStore()
  const before = await memoryCatalog(t, 'node-1', { store })
  await before.registerService(serviceRecord('web-1'), [checkRecord('web-1-ttl', { ServiceID: 'web-1', ServiceName: 'web' })])
  await before.registerService(serviceRecord('bad-1'), [checkRecord('bad-1-ttl', { ServiceID: 'bad-1', ServiceName: 'bad' })])
  await before.registerCheck(checkRecord('bad-check'))
  await before.registerService(serviceRecord('api/1'), [])
  await before.close()
  // What an earlier version could have written: the same records under IDs with lone surrogates.
  for (const [id, json] of [...store.contents.records]) {
    if (!/bad/.test(id)) continue
    store.contents.records.delete(id)
    store.contents.records.set(id.replace(/bad/g, 'bad\\ud800'), json.replace(/bad/g, 'bad\\ud800'))
  }
  const catalog = await memoryCatalog(t, 'node-1', { store: new MemoryCatalogStore(store.contents) })
  t.same(catalog.localServices().map(service => service.ID).sort(), ['api/1', 'bad\ud800-1', 'web-1'], 'the old data holds the unaddressable service')

  const { log, lines } = captureLogger()
  const dropped = await dropUnaddressableRegistrations(catalog, log)
  t.same(dropped, { services: ['bad\ud800-1'], checks: ['bad\ud800-check'] })
  t.same(catalog.localServices().map(service => service.ID).sort(), ['api/1', 'web-1'], 'a "/" in an ID is kept: it can be named percent-encoded')
  t.same(catalog.localChecks().map(check => check.CheckID).sort(), ['web-1-ttl'], 'the service\'s checks went with it')
  t.equal(lines.filter(line => line.level === LEVEL.warn).length, 2, 'each removal is logged')
  t.match(lines[0], { serviceId: '"bad\\ud800-1"' })
  t.same(await dropUnaddressableRegistrations(catalog, log), { services: [], checks: [] }, 'nothing left to drop')
})
