// The local-write face of the catalog that registration, health checks and the service routes use:
// every write goes to the catalog (one LevelDB batch) and the entries it produced are published to
// the cluster at once, so no caller can forget to replicate what it changed.

import type { Catalog } from '../catalog/catalog.ts'
import type { Entry } from '../catalog/entry.ts'
import type { LocalCatalog } from './local/local-catalog.ts'

export function publishingCatalog (catalog: Catalog, publish: (entries: Entry[]) => void): LocalCatalog {
  const published = async (write: Promise<Entry[]>): Promise<Entry[]> => {
    const entries = await write
    publish(entries)
    return entries
  }
  return {
    registerService: async (service, checks, options) => await published(catalog.registerService(service, checks, options)),
    registerServices: async (registrations, options) => await published(catalog.registerServices(registrations, options)),
    deregisterService: async (serviceId) => await published(catalog.deregisterService(serviceId)),
    registerCheck: async (check) => await published(catalog.registerCheck(check)),
    deregisterCheck: async (checkId) => await published(catalog.deregisterCheck(checkId)),
    updateCheck: async (checkId, status, output, notes) => await published(catalog.updateCheck(checkId, status, output, notes)),
    localServices: () => catalog.localServices(),
    localService: (id) => catalog.localService(id),
    localChecks: () => catalog.localChecks(),
    localCheck: (id) => catalog.localCheck(id),
    get index () { return catalog.index },
    waitForIndex: async (minIndex, options) => await catalog.waitForIndex(minIndex, options),
  }
}
