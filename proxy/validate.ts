// Checks a snapshot before it replaces the running one: a bad snapshot is refused whole with
// MESH_ERR_PROXY_INVALID_SNAPSHOT and the sidecar keeps serving the previous one.

import { InvalidSnapshotError } from './errors.ts'
import { compileRouter } from './router.ts'
import type { FaultInjection, ProxyLimits, ProxySnapshot, RateLimit } from './snapshot.ts'

const PROTOCOLS = new Set(['tcp', 'http', 'http2'])

function check (condition: boolean, message: string): void {
  if (!condition) throw new InvalidSnapshotError(`invalid proxy snapshot: ${message}`)
}

function isPort (port: unknown): boolean {
  return Number.isInteger(port) && (port as number) >= 0 && (port as number) <= 65535
}

function checkLimits (limits: ProxyLimits | undefined, where: string): void {
  if (limits === undefined) return
  for (const [name, value] of Object.entries(limits)) {
    check(value === undefined || (Number.isInteger(value) && value >= 0), `${where}.limits.${name} must be a non-negative integer`)
  }
}

function checkFaults (faults: FaultInjection[] | undefined, where: string): void {
  for (const fault of faults ?? []) {
    for (const percent of [fault.abortPercent, fault.delayPercent]) {
      check(percent === undefined || (percent >= 0 && percent <= 100), `${where}.faults percentages must be within 0–100`)
    }
    check(fault.abortStatusCode === undefined || (Number.isInteger(fault.abortStatusCode) && fault.abortStatusCode >= 200 && fault.abortStatusCode <= 599), `${where}.faults abortStatusCode must be an HTTP status`)
    check(fault.delayMs === undefined || fault.delayMs >= 0, `${where}.faults delayMs must be non-negative`)
  }
}

function checkRateLimits (limits: RateLimit[] | undefined): void {
  for (const limit of limits ?? []) {
    check(['service', 'consumer', 'path'].includes(limit.scope), `rate limit scope ${String(limit.scope)} is unknown`)
    check(limit.requestsPerSecond > 0 && limit.burst >= 1, 'rate limits need requestsPerSecond > 0 and burst ≥ 1')
    check(limit.scope !== 'path' || typeof limit.pathPrefix === 'string', 'a path rate limit needs pathPrefix')
  }
}

function checkRoutes (upstream: ProxySnapshot['upstreams'][number], where: string): void {
  if (upstream.routes === undefined) return
  const known = new Set([upstream.destinationName, ...(upstream.destinations ?? []).map((destination) => destination.name)])
  for (const [index, route] of upstream.routes.entries()) {
    check(known.has(route.destination), `${where}: route ${index} leads to ${route.destination}, which the snapshot does not resolve`)
    check(route.requestTimeoutMs === undefined || route.requestTimeoutMs >= 0, `${where}: route ${index} requestTimeoutMs must be non-negative`)
    check(route.numRetries === undefined || (Number.isInteger(route.numRetries) && route.numRetries >= 0), `${where}: route ${index} numRetries must be a non-negative integer`)
  }
  for (const destination of upstream.destinations ?? []) {
    for (const endpoint of destination.endpoints) {
      check(isPort(endpoint.port) && endpoint.port > 0 && endpoint.spiffeId.startsWith('spiffe://'), `${where}: destination ${destination.name} endpoint ${endpoint.id} needs a port and a SPIFFE ID`)
    }
  }
  try {
    compileRouter(upstream.routes)
  } catch (error) {
    check(false, `${where}: ${(error as Error).message}`)
  }
}

export function validateSnapshot (snapshot: ProxySnapshot): void {
  check(typeof snapshot.proxyId === 'string' && snapshot.proxyId !== '', 'proxyId is required')
  check(typeof snapshot.serviceName === 'string' && snapshot.serviceName !== '', 'serviceName is required')
  check(typeof snapshot.trustDomain === 'string' && snapshot.trustDomain !== '', 'trustDomain is required')
  check(typeof snapshot.authorize === 'function', 'authorize must be a function')
  check(snapshot.tls?.certChainPem?.includes('BEGIN CERTIFICATE') === true, 'tls.certChainPem must hold a PEM certificate')
  check(snapshot.tls.keyPem?.includes('PRIVATE KEY') === true, 'tls.keyPem must hold a PEM private key')
  check(Array.isArray(snapshot.tls.rootsPem) && snapshot.tls.rootsPem.length > 0, 'tls.rootsPem needs at least one root')
  check(PROTOCOLS.has(snapshot.inbound?.protocol), 'inbound.protocol must be tcp, http or http2')
  check(isPort(snapshot.inbound.bindPort) && isPort(snapshot.inbound.localServicePort), 'inbound ports must be 0–65535')
  checkLimits(snapshot.inbound.limits, 'inbound')
  checkFaults(snapshot.inbound.faults, 'inbound')
  checkRateLimits(snapshot.inbound.rateLimits)
  const names = new Set<string>()
  for (const upstream of snapshot.upstreams) {
    const where = `upstream ${upstream.destinationName}`
    check(!names.has(upstream.destinationName), `${where} appears twice`)
    names.add(upstream.destinationName)
    check(PROTOCOLS.has(upstream.protocol), `${where}: protocol must be tcp, http or http2`)
    check(isPort(upstream.localBindPort), `${where}: localBindPort must be 0–65535`)
    check(upstream.connectTimeoutMs >= 0 && upstream.requestTimeoutMs >= 0, `${where}: timeouts must be non-negative`)
    const ids = new Set<string>()
    for (const endpoint of upstream.endpoints) {
      check(!ids.has(endpoint.id), `${where}: endpoint id ${endpoint.id} appears twice`)
      ids.add(endpoint.id)
      check(isPort(endpoint.port) && endpoint.port > 0, `${where}: endpoint ${endpoint.id} needs a port`)
      check(endpoint.spiffeId.startsWith('spiffe://'), `${where}: endpoint ${endpoint.id} needs a SPIFFE ID`)
    }
    for (const leg of upstream.split ?? []) check(leg.weight >= 0, `${where}: split weights must be non-negative`)
    checkLimits(upstream.limits, where)
    checkFaults(upstream.faults, where)
    checkRoutes(upstream, where)
  }
}
