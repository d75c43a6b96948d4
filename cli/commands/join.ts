// `mesh join ADDR...`: asks the agent to join the cluster through each address
// (PUT /v1/agent/join/:address). As with `consul join`, reaching one member is enough: the command
// fails only when no address worked, and reports the addresses that did not.

import { Command } from 'commander'
import { parseHostPort } from '../addresses.ts'
import { AgentUnreachableError } from '../../api/agent-client.ts'
import { JoinFailedError, oneLine } from '../errors.ts'
import { write } from '../output.ts'
import { clientCommand, clientFor, examples } from '../options.ts'
import type { ClientOptions } from '../options.ts'

export function joinCommand (): Command {
  return clientCommand('join')
    .description('Join the agent to a cluster through one or more members')
    .argument('<address...>', 'gossip address of a member, HOST[:PORT] (port 8301 when omitted)')
    .addHelpText('after', examples(
      'mesh join 10.0.0.5',
      'mesh join 10.0.0.5:8301 10.0.0.6:8301',
    ))
    .action(async (addresses: string[], options: ClientOptions) => {
      for (const address of addresses) parseHostPort(address, 'address')
      const client = clientFor(options)
      let joined = 0
      const failures: string[] = []
      for (const address of addresses) {
        try {
          await client.put(`/v1/agent/join/${encodeURIComponent(address)}`)
          joined++
        } catch (error) {
          // An unreachable agent fails every address the same way: say it once.
          if (error instanceof AgentUnreachableError) throw error
          failures.push(`${address} (${oneLine((error as Error).message)})`)
        }
      }
      if (joined === 0) throw new JoinFailedError(failures)
      for (const failure of failures) process.stderr.write(`Warning: could not join through ${failure}\n`)
      write(`Successfully joined cluster by contacting ${joined} ${joined === 1 ? 'node' : 'nodes'}.`)
    })
}
