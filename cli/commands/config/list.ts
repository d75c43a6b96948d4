// `mesh config list --kind K`: the names of the entries of one kind (GET /v1/config/:kind);
// `--format json` prints the entries themselves.

import { Command } from 'commander'
import { configEntryPath, parseKind } from '../../config-entries.ts'
import type { ConfigEntry } from '../../config-entries.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface ListOptions extends ClientOptions, FormatOptions {
  kind: string
}

export function configListCommand (): Command {
  return withFormat(clientCommand('list'))
    .description('List the configuration entries of a kind')
    .requiredOption('--kind <kind>', 'entry kind, e.g. service-router', argParser(parseKind))
    .addHelpText('after', examples('mesh config list --kind service-defaults', 'mesh config list --kind service-router --format json'))
    .action(async (options: ListOptions) => {
      const entries = await clientFor(options).get<ConfigEntry[]>(configEntryPath(options.kind)) ?? []
      if (options.format === 'json') {
        writeJson(entries)
        return
      }
      write(renderTable(['Name'], entries.map(entry => entry.Name).sort().map(name => [name])))
    })
}
