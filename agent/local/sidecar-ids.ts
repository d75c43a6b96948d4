// How a service's sidecar is found among local services: registered through Connect.SidecarService,
// it has ID "<id>-sidecar-proxy", Kind connect-proxy and points back at the service. Deregistering
// or reaping a service removes that sidecar with it, as Consul does.

import type { ServiceRecord } from '../../api/catalog-types.ts'

export const sidecarIdFor = (serviceId: string): string => `${serviceId}-sidecar-proxy`

export function sidecarOf (services: ServiceRecord[], serviceId: string): ServiceRecord | undefined {
  const id = sidecarIdFor(serviceId)
  return services.find(service => service.ID === id && service.Kind === 'connect-proxy' &&
    service.Proxy?.DestinationServiceID === serviceId)
}
