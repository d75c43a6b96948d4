// `mesh config delete --kind K --name N`: removes one configuration entry
// (DELETE /v1/config/:kind/:name).

import { Command } from 'commander'
import { configEntryPath, parseEntryName, parseKind } from '../../config-entries.ts'
import { write } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

interface DeleteOptions extends ClientOptions {
  kind: string
  name: string
}

export function configDeleteCommand (): Command {
  return clientCommand('delete')
    .description('Delete a configuration entry')
    .requiredOption('--kind <kind>', 'entry kind', argParser(parseKind))
    .requiredOption('--name <name>', 'entry name', argParser(parseEntryName))
    .addHelpText('after', examples('mesh config delete --kind service-router --name api'))
    .action(async (options: DeleteOptions) => {
      await clientFor(options).delete(configEntryPath(options.kind, options.name))
      write(`Config entry deleted: ${options.kind}/${options.name}`)
    })
}
