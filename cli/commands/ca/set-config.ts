// `mesh ca set-config FILE`: replaces the CA configuration (PUT /v1/connect/ca/configuration);
// the file is what `mesh ca get-config` prints, edited.

import { Command } from 'commander'
import { InputFileError } from '../../errors.ts'
import { readJsonFile } from '../../input-file.ts'
import { write } from '../../output.ts'
import { clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'
import { isRecord } from '../../../api/guards.ts'

export function caSetConfigCommand (): Command {
  return clientCommand('set-config')
    .description('Replace the CA configuration from a JSON file')
    .argument('<file>', 'JSON file with "Provider" and "Config" ("-" for stdin)')
    .addHelpText('after', examples(
      'mesh ca get-config > ca.json && $EDITOR ca.json && mesh ca set-config ca.json',
      `echo '{"Provider":"consul","Config":{"LeafCertTTL":"24h"}}' | mesh ca set-config -`,
    ))
    .action(async (file: string, options: ClientOptions) => {
      const config = readJsonFile(file)
      if (!isRecord(config) || typeof config.Provider !== 'string' || config.Provider === '') {
        throw new InputFileError(file, 'must be a JSON object with a "Provider"')
      }
      await clientFor(options).put('/v1/connect/ca/configuration', config)
      write('Configuration updated!')
    })
}
