// Registrations that no request can name. Earlier versions accepted a service or check ID that is
// not well-formed Unicode (it holds a lone UTF-16 surrogate); such an ID has no spelling in a URL,
// so the registration survived restarts and could never be deregistered, and peers now refuse its
// entries. At start, before the local state is republished, each one is removed (a service with
// its checks) and logged. IDs the identifier rule refuses for other reasons ("/", control
// characters, length) are kept: a request can still name them, percent-encoded.

import type { Logger } from 'pino'
import type { LocalCatalog } from './local-catalog.ts'

export async function dropUnaddressableRegistrations (catalog: LocalCatalog, log: Logger): Promise<{ services: string[], checks: string[] }> {
  const services = catalog.localServices().map(service => service.ID).filter(id => !id.isWellFormed())
  for (const id of services) {
    await catalog.deregisterService(id)
    log.warn({ serviceId: JSON.stringify(id) }, 'removed a service whose ID is not well-formed Unicode: no request could name it')
  }
  const checks = catalog.localChecks().map(check => check.CheckID).filter(id => !id.isWellFormed())
  for (const id of checks) {
    await catalog.deregisterCheck(id)
    log.warn({ checkId: JSON.stringify(id) }, 'removed a check whose ID is not well-formed Unicode: no request could name it')
  }
  return { services, checks }
}
