// `mesh config delete --kind K --name N`: removes one configuration entry (read, then DELETE
// /v1/config/:kind/:name). An entry the agent does not hold is the state asked for already:
// "Already absent", exit 0. (The agent's plain DELETE answers the same either way, so the read
// is what tells the two apart.)

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
      const client = clientFor(options)
      const path = configEntryPath(options.kind, options.name)
      if (await client.getOptional<unknown>(path) === null) {
        write(`Already absent: config entry ${options.kind}/${options.name}`)
        return
      }
      await client.delete(path)
      write(`Config entry deleted: ${options.kind}/${options.name}`)
    })
}
