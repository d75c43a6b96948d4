// `mesh register`: registers services with the local agent (PUT /v1/agent/service/register), from
// flags for one service or from a JSON file holding one service, {"Service": {...}},
// {"Services": [...]} or an array. Everything is validated before the first request is sent.

import { Command } from 'commander'
import { parseHostPort, parsePort } from '../addresses.ts'
import { parseDurationText } from '../duration.ts'
import { InputFileError, UsageError } from '../errors.ts'
import { readJsonFile } from '../input-file.ts'
import { write } from '../output.ts'
import { argParser, clientCommand, clientFor, examples, repeatable } from '../options.ts'
import type { ClientOptions } from '../options.ts'
import { isRecord } from '../../api/guards.ts'

interface RegisterOptions extends ClientOptions {
  name?: string
  id?: string
  address?: string
  port?: number
  tag?: string[]
  meta?: Array<[string, string]>
  checkHttp?: string
  checkTcp?: string
  checkTtl?: string
  checkInterval?: string
}

type ServiceDefinition = Record<string, unknown>

/** Consul's limits on service metadata keys. */
const META_KEY = /^[A-Za-z0-9_-]{1,128}$/
const DEFAULT_CHECK_INTERVAL = '10s'

function parseMeta (text: string): [string, string] {
  const equals = text.indexOf('=')
  const key = equals === -1 ? text : text.slice(0, equals)
  if (equals === -1 || !META_KEY.test(key)) {
    throw new UsageError(`--meta must be KEY=VALUE with a key of letters, digits, "-" and "_", got "${text}"`)
  }
  return [key, text.slice(equals + 1)]
}

function parseCheckUrl (text: string): string {
  let url: URL | undefined
  try { url = new URL(text) } catch { url = undefined }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--check-http must be an http:// or https:// URL, got "${text}"`)
  }
  return text
}

function parseServiceName (text: string): string {
  if (text.trim() === '' || /[\s/]/.test(text)) throw new UsageError(`--name must be a non-empty name without spaces or "/", got "${text}"`)
  return text
}

const SERVICE_FLAGS: Array<keyof RegisterOptions> = [
  'name', 'id', 'address', 'port', 'tag', 'meta', 'checkHttp', 'checkTcp', 'checkTtl', 'checkInterval',
]

export function serviceFromFlags (options: RegisterOptions): ServiceDefinition {
  if (options.name === undefined) throw new UsageError('--name is required (or give a JSON FILE)')
  if (options.checkInterval !== undefined && options.checkHttp === undefined && options.checkTcp === undefined) {
    throw new UsageError('--check-interval applies to --check-http and --check-tcp; TTL checks have no interval')
  }
  const interval = options.checkInterval ?? DEFAULT_CHECK_INTERVAL
  const checks: Array<Record<string, string>> = []
  if (options.checkHttp !== undefined) checks.push({ HTTP: options.checkHttp, Interval: interval })
  if (options.checkTcp !== undefined) checks.push({ TCP: options.checkTcp, Interval: interval })
  if (options.checkTtl !== undefined) checks.push({ TTL: options.checkTtl })
  const service: ServiceDefinition = { Name: options.name }
  if (options.id !== undefined) service.ID = options.id
  if (options.address !== undefined) service.Address = options.address
  if (options.port !== undefined) service.Port = options.port
  if (options.tag !== undefined) service.Tags = options.tag
  if (options.meta !== undefined) service.Meta = Object.fromEntries(options.meta)
  if (checks.length > 0) service.Checks = checks
  return service
}

/** Unwraps the accepted file shapes into a list of service definitions, checking each has a name. */
export function servicesFromFile (path: string, content: unknown): ServiceDefinition[] {
  let services: unknown[]
  if (Array.isArray(content)) services = content
  else if (isRecord(content) && Array.isArray(content.Services ?? content.services)) services = (content.Services ?? content.services) as unknown[]
  else if (isRecord(content) && isRecord(content.Service ?? content.service)) services = [content.Service ?? content.service]
  else services = [content]
  if (services.length === 0) throw new InputFileError(path, 'holds no service definition')
  return services.map((service, index) => {
    const name = isRecord(service) ? (service.Name ?? service.name) : undefined
    if (typeof name !== 'string' || name === '') {
      throw new InputFileError(path, `service ${index + 1} must be a JSON object with a "Name"`)
    }
    return service as ServiceDefinition
  })
}

export function registerCommand (): Command {
  return clientCommand('register')
    .description('Register services with the local agent, from flags or a JSON file')
    .argument('[file]', 'JSON file: one service, {"Service": {...}}, {"Services": [...]} or an array ("-" for stdin)')
    .option('--name <name>', 'service name', argParser(parseServiceName))
    .option('--id <id>', 'service ID, unique on this agent (default: the name)')
    .option('--address <address>', 'service address (default: the node address)')
    .option('--port <port>', 'service port', argParser(text => parsePort(text, '--port')))
    .option('--tag <tag>', 'tag, repeatable', repeatable(text => text))
    .option('--meta <key=value>', 'metadata, repeatable', repeatable(parseMeta))
    .option('--check-http <url>', 'HTTP health check: passing on 2xx', argParser(parseCheckUrl))
    .option('--check-tcp <host:port>', 'TCP health check: passing when a connection opens',
      argParser(text => { parseHostPort(text, '--check-tcp', { portRequired: true }); return text }))
    .option('--check-ttl <duration>', 'TTL check: critical unless updated within the duration',
      argParser(text => parseDurationText(text, '--check-ttl')))
    .option('--check-interval <duration>', `interval of the HTTP/TCP check (default "${DEFAULT_CHECK_INTERVAL}")`,
      argParser(text => parseDurationText(text, '--check-interval')))
    .addHelpText('after', examples(
      'mesh register --name web --port 8080 --tag v1 --meta team=shop --check-http http://127.0.0.1:8080/health',
      'mesh register --name worker --check-ttl 30s',
      'mesh register services.json',
    ))
    .action(async (file: string | undefined, options: RegisterOptions) => {
      let services: ServiceDefinition[]
      if (file !== undefined) {
        const flagsGiven = SERVICE_FLAGS.filter(flag => options[flag] !== undefined)
        if (flagsGiven.length > 0) throw new UsageError('give either a JSON FILE or --name and the other flags, not both')
        services = servicesFromFile(file, readJsonFile(file))
      } else {
        services = [serviceFromFlags(options)]
      }
      const client = clientFor(options)
      for (const service of services) {
        await client.put('/v1/agent/service/register', service)
        write(`Registered service: ${String(service.Name ?? service.name)}`)
      }
    })
}
