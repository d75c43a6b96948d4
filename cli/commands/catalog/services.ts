// `mesh catalog services`: every service name in the catalog (GET /v1/catalog/services), with
// the union of its instances' tags on request.

import { Command } from 'commander'
import { formatTags } from '../../format.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface ServicesOptions extends ClientOptions, FormatOptions {
  tags?: boolean
}

export function catalogServicesCommand (): Command {
  return withFormat(clientCommand('services'))
    .description('List the services in the catalog')
    .option('--tags', 'show the tags of each service')
    .addHelpText('after', examples('mesh catalog services', 'mesh catalog services --tags --format json'))
    .action(async (options: ServicesOptions) => {
      const services = await clientFor(options).get<Record<string, string[] | null>>('/v1/catalog/services') ?? {}
      const names = Object.keys(services).sort()
      if (options.format === 'json') {
        writeJson(options.tags === true ? Object.fromEntries(names.map(name => [name, services[name] ?? []])) : names)
        return
      }
      write(options.tags === true
        ? renderTable(['Service', 'Tags'], names.map(name => [name, formatTags(services[name])]))
        : renderTable(['Service'], names.map(name => [name])))
    })
}
