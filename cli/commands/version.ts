// `mesh version`: the CLI's version and the Node.js running it. Local only.

import { Command } from 'commander'
import { write, writeJson } from '../output.ts'
import { examples, withFormat } from '../options.ts'
import type { FormatOptions } from '../options.ts'
import { MESH_VERSION } from '../version-info.ts'

export function versionCommand (): Command {
  return withFormat(new Command('version'))
    .description('Print the mesh version')
    .addHelpText('after', examples('mesh version', 'mesh version --format json'))
    .action((options: FormatOptions) => {
      if (options.format === 'json') {
        writeJson({ Version: MESH_VERSION, Node: process.version })
        return
      }
      write(`mesh v${MESH_VERSION}\nNode ${process.version}`)
    })
}
