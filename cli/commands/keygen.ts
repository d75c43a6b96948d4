// `mesh keygen`: prints a new cluster key (32 random bytes, base64) for `agent start --encrypt`.
// Local only: it neither needs nor contacts an agent.

import { randomBytes } from 'node:crypto'
import { Command } from 'commander'
import { CLUSTER_KEY_BYTES } from '../../api/agent-options.ts'
import { write } from '../output.ts'
import { examples } from '../options.ts'

export function keygenCommand (): Command {
  return new Command('keygen')
    .description('Print a new cluster key: 32 random bytes in base64, for --encrypt')
    .addHelpText('after', examples(
      'mesh keygen',
      'mesh agent start --encrypt "$(mesh keygen)"',
    ))
    .action(() => {
      write(randomBytes(CLUSTER_KEY_BYTES).toString('base64'))
    })
}
