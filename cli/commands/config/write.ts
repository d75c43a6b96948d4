// `mesh config write FILE`: creates or replaces configuration entries (PUT /v1/config), one
// entry or an array per file; all are validated before the first is sent.

import { Command } from 'commander'
import { entriesFromFile } from '../../config-entries.ts'
import { readJsonFile } from '../../input-file.ts'
import { write } from '../../output.ts'
import { clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'

export function configWriteCommand (): Command {
  return clientCommand('write')
    .description('Create or replace configuration entries from a JSON file')
    .argument('<file>', 'JSON file with one entry or an array of entries ("-" for stdin)')
    .addHelpText('after', examples(
      'mesh config write web-defaults.json',
      `echo '{"Kind":"service-defaults","Name":"web","Protocol":"http"}' | mesh config write -`,
    ))
    .action(async (file: string, options: ClientOptions) => {
      const entries = entriesFromFile(file, readJsonFile(file))
      const client = clientFor(options)
      for (const entry of entries) {
        await client.put('/v1/config', entry)
        write(`Config entry written: ${entry.Kind}/${entry.Name}`)
      }
    })
}
