// `mesh intentions apply FILE`: writes intentions kept in version control. The file holds one
// intention, an array of them, or service-intentions config entries (with L7 Permissions).
//
// A service-intentions entry is the whole truth for its destination: it is written as is
// (PUT /v1/config) and replaces every source of that destination. A plain intention changes only
// its own source/destination pair: it is read (GET /v1/connect/intentions/exact) and written
// (PUT .../exact) only if it differs, so applying "web → api" never drops "admin → api" written by
// someone else, and re-applying an unchanged file writes nothing.

import { Command } from 'commander'
import { deepEqual, normalize } from '../../config-diff.ts'
import { readJsonFile } from '../../input-file.ts'
import { exactQuery, INTENTION_FILE_FIELDS, parseIntentionsFile } from '../../intentions.ts'
import type { Intention } from '../../intentions.ts'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

interface ApplyResult {
  Target: string
  Result: 'created' | 'updated' | 'unchanged' | 'written'
}

/** Compared as Go would print them, so zero values the agent echoes back are not differences. */
function sameIntention (wanted: Intention, existing: Intention): boolean {
  const pick = (intention: Intention): Record<string, unknown> => Object.fromEntries(
    INTENTION_FILE_FIELDS.map(field => [field, (intention as unknown as Record<string, unknown>)[field]]))
  return deepEqual(normalize(pick(wanted)), normalize(pick(existing)))
}

export function intentionsApplyCommand (): Command {
  return withFormat(clientCommand('apply'))
    .description('Apply intentions from a JSON file (plain intentions or service-intentions entries)')
    .argument('<file>', 'JSON file ("-" for stdin)')
    .addHelpText('after', examples(
      'mesh intentions apply intentions/api.json',
      `echo '{"SourceName":"web","DestinationName":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/v1/","Methods":["GET"]}}]}' | mesh intentions apply -`,
    ))
    .action(async (file: string, options: ClientOptions & FormatOptions) => {
      const items = parseIntentionsFile(file, readJsonFile(file))
      const client = clientFor(options)
      const results: ApplyResult[] = []
      for (const item of items) {
        if (item.kind === 'entry') {
          await client.put('/v1/config', item.entry)
          results.push({ Target: `service-intentions/${String(item.entry.Name)}`, Result: 'written' })
          continue
        }
        const { SourceName: source, DestinationName: destination } = item.intention
        const query = exactQuery(source, destination)
        const existing = await client.getOptional<Intention>('/v1/connect/intentions/exact', query)
        const result = existing === null ? 'created' : sameIntention(item.intention, existing) ? 'unchanged' : 'updated'
        if (result !== 'unchanged') await client.put('/v1/connect/intentions/exact', item.intention, query)
        results.push({ Target: `${source} => ${destination}`, Result: result })
      }
      if (options.format === 'json') {
        writeJson(results)
        return
      }
      write(renderTable(['Intention', 'Result'], results.map(result => [result.Target, result.Result])))
    })
}
