// `mesh reload`: the agent loads its config files again and applies what a reload can: services and
// checks defined in the files, and the log level (PUT /v1/agent/reload, as `consul reload`). Prints
// what changed and the fields that need a restart; an invalid config fails with the agent's message
// and exit code 1, and the agent keeps running unchanged. Unlike `consul reload`, it waits for the
// reload to finish, so its exit code says whether it worked.

import { Command } from 'commander'
import { BadResponseError } from '../../api/agent-client.ts'
import { describeReload, parseReloadSummary } from '../../api/reload.ts'
import { write, writeJson } from '../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../options.ts'
import type { ClientOptions, FormatOptions } from '../options.ts'

const RELOAD_PATH = '/v1/agent/reload'

export function reloadCommand (): Command {
  return withFormat(clientCommand('reload'))
    .description('Reload the agent\'s config files: services, checks and log level (others need a restart)')
    .addHelpText('after', examples('mesh reload', 'mesh reload --http-addr 10.0.0.5:8500 --format json'))
    .action(async (options: ClientOptions & FormatOptions) => {
      const summary = parseReloadSummary(await clientFor(options).put<unknown>(RELOAD_PATH))
      if (typeof summary === 'string') throw new BadResponseError('PUT', RELOAD_PATH, summary)
      if (options.format === 'json') writeJson(summary)
      else write(describeReload(summary))
    })
}
