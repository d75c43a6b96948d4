// `mesh leave`: the agent leaves the cluster gracefully and shuts down (PUT /v1/agent/leave);
// the other members then see it as "left", not "failed".

import { Command } from 'commander'
import { write } from '../output.ts'
import { clientCommand, clientFor, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'

export function leaveCommand (): Command {
  return clientCommand('leave')
    .description('Gracefully leave the cluster and shut the agent down')
    .addHelpText('after', examples('mesh leave', 'mesh leave --http-addr 10.0.0.5:8500'))
    .action(async (options: ClientOptions) => {
      await clientFor(options).put('/v1/agent/leave')
      write('Graceful leave complete')
    })
}
