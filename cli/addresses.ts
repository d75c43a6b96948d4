// Parsing of the addresses users type: the agent's HTTP address (with or without a scheme) and
// "HOST[:PORT]" pairs, with IPv6 in brackets as Go and Consul write them ("[::1]:8301").

import { isIP } from 'node:net'
import { UsageError } from './errors.ts'

export const DEFAULT_HTTP_ADDR = 'http://127.0.0.1:8500'

export interface HostPort {
  host: string
  port: number | undefined
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/

export function parsePort (text: string, what: string, options: { allowZero?: boolean, allowDisabled?: boolean } = {}): number {
  const port = /^-?\d{1,5}$/.test(text) ? Number(text) : NaN
  if (options.allowDisabled === true && port === -1) return port
  const lowest = options.allowZero === true ? 0 : 1
  if (!Number.isInteger(port) || port < lowest || port > 65535) {
    throw new UsageError(`${what} must be a port number between ${lowest} and 65535, got "${text}"`)
  }
  return port
}

/** "10.0.0.1", "10.0.0.1:8301", "[::1]:8301", "::1", "node-1.example:8301". */
export function parseHostPort (text: string, what: string, options: { ipOnly?: boolean, portRequired?: boolean, allowZeroPort?: boolean } = {}): HostPort {
  let host: string
  let portText: string | undefined
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text)
  if (bracketed !== null) {
    host = bracketed[1]
    portText = bracketed[2]
    if (isIP(host) !== 6) throw new UsageError(`${what} has an invalid IPv6 address: "${text}"`)
  } else if (isIP(text) === 6) {
    host = text
  } else {
    const colon = text.lastIndexOf(':')
    host = colon === -1 ? text : text.slice(0, colon)
    portText = colon === -1 ? undefined : text.slice(colon + 1)
  }
  const expected = options.portRequired === true ? 'HOST:PORT' : 'HOST[:PORT]'
  if (options.ipOnly === true ? isIP(host) === 0 : (isIP(host) === 0 && !HOSTNAME.test(host))) {
    throw new UsageError(`${what} must be ${options.ipOnly === true ? 'an IP address' : 'a host'} in the form ${expected}, got "${text}"`)
  }
  if (portText === undefined && options.portRequired === true) {
    throw new UsageError(`${what} must be in the form ${expected}, got "${text}"`)
  }
  return { host, port: portText === undefined ? undefined : parsePort(portText, what, { allowZero: options.allowZeroPort }) }
}

export function parseIpAddress (text: string, what: string): string {
  if (isIP(text) === 0) throw new UsageError(`${what} must be an IP address, got "${text}"`)
  return text
}

/**
 * The agent's base URL from --http-addr, else MESH_HTTP_ADDR, else the default. "host:port"
 * without a scheme means http, as CONSUL_HTTP_ADDR does. The result has no trailing slash.
 */
export function resolveHttpAddr (flag: string | undefined, env: string | undefined): string {
  const given = flag ?? (env !== undefined && env.trim() !== '' ? env.trim() : undefined)
  if (given === undefined) return DEFAULT_HTTP_ADDR
  const source = flag !== undefined ? '--http-addr' : 'MESH_HTTP_ADDR'
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`${source} is not a valid address: "${given}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must use http or https, got "${given}"`)
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new UsageError(`${source} must be a plain address such as 127.0.0.1:8500, got "${given}"`)
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
}
