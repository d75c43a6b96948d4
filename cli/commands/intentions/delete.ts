// `mesh intentions delete SRC DST`: removes the intention for a pair
// (DELETE /v1/connect/intentions/exact); the default policy then decides for it.

import { Command } from 'commander'
import { exactQuery, parseIntentionService } from '../../intentions.ts'
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
      await clientFor(options).delete('/v1/connect/intentions/exact', exactQuery(source, destination))
      write(`Intention deleted: ${source} => ${destination}`)
    })
}
