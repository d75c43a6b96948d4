// Validates the Proxy block of a connect-proxy registration (a sidecar's or a standalone proxy's):
// the destination it fronts, where the local app listens, and the upstream listeners, with
// Consul's defaults (upstream DestinationType "service", LocalBindAddress 127.0.0.1).

import type { ProxyConfig, Upstream } from '../../api/catalog-types.ts'
import { PayloadFields } from './payload-fields.ts'
import { isRecord } from '../../api/guards.ts'

export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1'

export function parseProxyPayload (record: Record<string, unknown>, fail: (message: string) => Error, prefix: string): Partial<ProxyConfig> {
  const fields = new PayloadFields(record, fail, prefix)
  const proxy: Partial<ProxyConfig> = {}
  const destinationName = fields.string('DestinationServiceName')
  if (destinationName !== undefined && destinationName !== '') proxy.DestinationServiceName = destinationName
  const destinationId = fields.string('DestinationServiceID', ['DestinationServiceId'])
  if (destinationId !== undefined && destinationId !== '') proxy.DestinationServiceID = destinationId
  const localAddress = fields.string('LocalServiceAddress')
  if (localAddress !== undefined && localAddress !== '') proxy.LocalServiceAddress = localAddress
  const localPort = fields.integer('LocalServicePort', 0, 65535)
  if (localPort !== undefined && localPort > 0) proxy.LocalServicePort = localPort
  const mode = fields.string('Mode')
  if (mode !== undefined && mode !== '') {
    if (mode !== 'direct' && mode !== 'transparent') throw fields.error('Mode', 'must be "direct" or "transparent"')
    proxy.Mode = mode
  }
  const config = fields.opaqueObject('Config')
  if (config !== undefined) proxy.Config = config
  const upstreams = fields.array('Upstreams')
  if (upstreams !== undefined) proxy.Upstreams = parseUpstreams(upstreams, fail, prefix)
  return proxy
}

function parseUpstreams (values: unknown[], fail: (message: string) => Error, prefix: string): Upstream[] {
  const upstreams: Upstream[] = []
  const binds = new Set<string>()
  values.forEach((value, index) => {
    const where = `${prefix}Upstreams[${index}].`
    if (!isRecord(value)) throw fail(`${where.slice(0, -1)} must be an object`)
    const fields = new PayloadFields(value, fail, where)
    const name = fields.string('DestinationName')
    if (name === undefined || name === '') throw fail(`${where}DestinationName: upstream destination name cannot be empty`)
    const type = fields.string('DestinationType') ?? 'service'
    if (type !== 'service' && type !== '') throw fields.error('DestinationType', 'must be "service" (prepared queries are not supported)')
    const port = fields.integer('LocalBindPort', 0, 65535)
    if (port === undefined || port === 0) throw fail(`${where}LocalBindPort: upstream local bind port cannot be zero`)
    const address = fields.string('LocalBindAddress') ?? ''
    const upstream: Upstream = {
      DestinationName: name,
      DestinationType: 'service',
      LocalBindAddress: address === '' ? DEFAULT_LOCAL_ADDRESS : address,
      LocalBindPort: port,
    }
    const datacenter = fields.string('Datacenter')
    if (datacenter !== undefined && datacenter !== '') upstream.Datacenter = datacenter
    const config = fields.opaqueObject('Config')
    if (config !== undefined) upstream.Config = config
    const bind = `${upstream.LocalBindAddress}:${port}`
    if (binds.has(bind)) throw fail(`${where}LocalBindPort: upstreams cannot bind the same address ${bind} twice`)
    binds.add(bind)
    upstreams.push(upstream)
  })
  return upstreams
}
