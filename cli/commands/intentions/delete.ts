// `mesh intentions delete SRC DST`: removes the intention for a pair (read, then DELETE
// /v1/connect/intentions/exact); the default policy then decides for it. A pair with no
// intention is the state asked for already: "Already absent", exit 0.

import { Command } from 'commander'
import { describeAction, exactQuery, parseIntentionService } from '../../intentions.ts'
import type { Intention } from '../../intentions.ts'
import { write } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

export function intentionsDeleteCommand (): Command {
  return clientCommand('delete')
    .description('Delete the intention between two services')
    .argument('<source>', 'calling service', argParser(text => parseIntentionService(text, 'source')))
    .argument('<destination>', 'called service', argParser(text => parseIntentionService(text, 'destination')))
    .addHelpText('after', examples('mesh intentions delete web db'))
    .action(async (source: string, destination: string, options: ClientOptions) => {
      const client = clientFor(options)
      const path = '/v1/connect/intentions/exact'
      const query = exactQuery(source, destination)
      const existing = await client.getOptional<Intention>(path, query)
      if (existing === null) {
        write(`Already absent: ${source} => ${destination}`)
        return
      }
      await client.delete(path, query)
      write(`Deleted: ${source} => ${destination} (${describeAction(existing)})`)
    })
}
