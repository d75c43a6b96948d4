// The inputs buildProxySnapshot reads, for tests: a web sidecar's registration with one upstream,
// config entries from a map, the given sidecars per service, warnings collected into an array.

import type { SnapshotInputs } from '../../../agent/connect/build-snapshot.ts'
import type { HealthServiceResult, ServiceRecord } from '../../../api/catalog-types.ts'
import { compileFilter } from '../../../catalog/filter.ts'

export const TD = '11111111-2222-3333-4444-555555555555.consul'

export function snapshotInputs (
  proxy: ServiceRecord,
  sidecarsOf: (service: string) => HealthServiceResult[],
  entries: Record<string, Record<string, unknown>>,
  warnings: string[] = [],
): SnapshotInputs {
  return {
    proxy,
    nodeAddress: '10.0.0.1',
    trustDomain: TD,
    datacenter: 'dc1',
    leaf: { CertPEM: 'CERT', PrivateKeyPEM: 'KEY' },
    rootsPem: ['ROOT'],
    configEntry: (kind, name) => entries[`${kind}/${name}`],
    sidecarsOf,
    authorizer: () => () => ({ allowed: true, reason: 'test' }),
    compileFilter,
    warn: (message) => warnings.push(message),
  }
}
