// `mesh intentions get SRC DST`: one intention in full (GET /v1/connect/intentions/exact).

import { Command } from 'commander'
import { NotFoundError } from '../../errors.ts'
import { describeAction, exactQuery, parseIntentionService } from '../../intentions.ts'
import type { Intention } from '../../intentions.ts'
import { renderFields, write, writeJson } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

export function intentionsGetCommand (): Command {
  return withFormat(clientCommand('get'))
    .description('Show the intention between two services')
    .argument('<source>', 'calling service', argParser(text => parseIntentionService(text, 'source')))
    .argument('<destination>', 'called service', argParser(text => parseIntentionService(text, 'destination')))
    .addHelpText('after', examples('mesh intentions get web api', 'mesh intentions get web api --format json'))
    .action(async (source: string, destination: string, options: ClientOptions & FormatOptions) => {
      const intention = await clientFor(options).getOptional<Intention>('/v1/connect/intentions/exact', exactQuery(source, destination))
      if (intention === null) throw new NotFoundError(`no intention from "${source}" to "${destination}"`)
      if (options.format === 'json') {
        writeJson(intention)
        return
      }
      const fields: Array<[string, string]> = [
        ['Source', intention.SourceName],
        ['Destination', intention.DestinationName],
        ['Action', describeAction(intention)],
        ['ID', intention.ID ?? ''],
        ['Description', intention.Description ?? ''],
        ['Precedence', intention.Precedence === undefined ? '' : String(intention.Precedence)],
        ['Created At', intention.CreatedAt ?? ''],
        ['Updated At', intention.UpdatedAt ?? ''],
      ]
      for (const [index, permission] of (intention.Permissions ?? []).entries()) {
        fields.push([`Permission ${index + 1}`, JSON.stringify(permission)])
      }
      write(renderFields(fields))
    })
}
