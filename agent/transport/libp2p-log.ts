// libp2p's logs bridged into pino. libp2p logs printf-style (the `debug` package's format: "%s",
// "%d", "%o", "%j", and its own "%a" multiaddr, "%p" peer id, "%e" error, "%b"/"%t"/"%m" bytes),
// so each line is formatted here before it reaches pino: a log never shows raw placeholders.
// Debug noise stays at trace; a failed connection upgrade (the usual symptom of a peer with
// another cluster key) is reported at WARN once per remote host, everything else libp2p calls an
// error at DEBUG (libp2p reports every refused or reset peer connection that way).

import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from 'pino'

const MAX_REPORTED_ADDRESSES = 1000

function errorText (value: unknown): string {
  if (!(value instanceof Error)) return String(value)
  const inner = value instanceof AggregateError && value.errors.length > 0
    ? ` (${value.errors.map(errorText).join('; ')})`
    : ''
  return `${value.message === '' ? value.name : value.message}${inner}`
}

function valueText (value: unknown): string {
  if (value instanceof Error) return errorText(value)
  if (typeof value !== 'object' || value === null) return String(value)
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  // Multiaddrs, peer ids and CIDs print themselves; plain objects are shown as JSON.
  if (value.toString !== Object.prototype.toString) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function directive (letter: string, value: unknown): string {
  if (value === undefined || value === null) return String(value)
  switch (letter) {
    case 'd':
    case 'i':
      return String(Number(value))
    case 'e':
      return errorText(value)
    case 'm':
      return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : valueText(value)
    default:
      return valueText(value)
  }
}

const DIRECTIVE = /%([sdioOjapcktbme%])/g

/** One libp2p log call as text: directives replaced by their arguments, extra arguments appended. */
export function formatLibp2pLog (formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') return [formatter, ...args].map(valueText).join(' ')
  let next = 0
  const text = formatter.replace(DIRECTIVE, (match, letter: string) => {
    if (letter === '%') return '%'
    if (next >= args.length) return match
    return directive(letter, args[next++])
  })
  const rest = args.slice(next).map(valueText)
  return rest.length === 0 ? text : `${text} ${rest.join(' ')}`
}

/** A libp2p ComponentLogger writing to `log` (its fields: `libp2p` = the libp2p component). */
export function bridgeLibp2pLogger (log: Logger): ComponentLogger {
  const reported = new Set<string>()
  const make = (component: string): Libp2pLogger => {
    const logger = ((..._args: unknown[]): void => {}) as Libp2pLogger
    logger.enabled = log.isLevelEnabled('trace')
    logger.trace = (formatter: unknown, ...args: unknown[]) => { if (logger.enabled) log.trace({ libp2p: component }, formatLibp2pLog(formatter, args)) }
    logger.error = (formatter: unknown, ...args: unknown[]) => {
      const text = formatLibp2pLog(formatter, args)
      if (typeof formatter === 'string' && formatter.startsWith('failed to upgrade')) {
        // libp2p's upgrader: (direction, 'from' | 'to', remote multiaddr, error).
        const address = valueText(args[2])
        // Once per remote host: each retry comes from a new ephemeral port.
        const host = address.replace(/\/(tcp|udp)\/\d+.*$/, '')
        if (!reported.has(host) && reported.size < MAX_REPORTED_ADDRESSES) {
          reported.add(host)
          log.warn({ libp2p: component, address, reason: text }, 'could not secure a connection: the peer may use another cluster key (--encrypt), or none')
        }
        return
      }
      log.debug({ libp2p: component }, text)
    }
    logger.newScope = (name: string) => make(`${component}:${name}`)
    return logger
  }
  return { forComponent: make }
}
