// `mesh config read --kind K --name N`: one configuration entry as JSON (GET /v1/config/:kind/:name).

import { Command } from 'commander'
import { configEntryPath, parseEntryName, parseKind } from '../../config-entries.ts'
import { NotFoundError } from '../../errors.ts'
import { writeJson } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

interface ReadOptions extends ClientOptions {
  kind: string
  name: string
}

export function configReadCommand (): Command {
  return clientCommand('read')
    .description('Print a configuration entry as JSON')
    .requiredOption('--kind <kind>', 'entry kind, e.g. service-defaults', argParser(parseKind))
    .requiredOption('--name <name>', 'entry name', argParser(parseEntryName))
    .addHelpText('after', examples('mesh config read --kind service-defaults --name web'))
    .action(async (options: ReadOptions) => {
      const entry = await clientFor(options).getOptional<unknown>(configEntryPath(options.kind, options.name))
      if (entry === null) throw new NotFoundError(`no config entry ${options.kind}/${options.name}`)
      writeJson(entry)
    })
}
