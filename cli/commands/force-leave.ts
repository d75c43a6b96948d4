// `mesh force-leave NODE`: marks a failed member as left so its services leave the catalog now
// instead of after the reconnect timeout (PUT /v1/agent/force-leave/:node, `?prune` to forget it).

import { Command } from 'commander'
import { write } from '../output.ts'
import { clientCommand, clientFor, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'

interface ForceLeaveOptions extends ClientOptions {
  prune?: boolean
}

export function forceLeaveCommand (): Command {
  return clientCommand('force-leave')
    .description('Force a failed member into the "left" state')
    .argument('<node>', 'name of the member')
    .option('--prune', 'also remove the member from the member list entirely')
    .addHelpText('after', examples('mesh force-leave node-3', 'mesh force-leave node-3 --prune'))
    .action(async (node: string, options: ForceLeaveOptions) => {
      await clientFor(options).put(`/v1/agent/force-leave/${encodeURIComponent(node)}`, undefined, { prune: options.prune })
      write(`Node ${node} forced to leave`)
    })
}
