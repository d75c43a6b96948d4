// `mesh ca roots`: the trusted root certificates (GET /v1/connect/ca/roots); during a rotation
// there are two, and both are trusted until the old one's leaves expire.

import { Command } from 'commander'
import { renderTable, write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'

export interface CaRoot {
  ID: string
  Name?: string
  RootCert: string
  IntermediateCerts?: string[] | null
  Active: boolean
  NotBefore?: string
  NotAfter?: string
}

export interface CaRoots {
  ActiveRootID?: string
  TrustDomain?: string
  Roots: CaRoot[] | null
}

interface RootsOptions extends ClientOptions, FormatOptions {
  pem?: boolean
}

export function caRootsCommand (): Command {
  return withFormat(clientCommand('roots'))
    .description('List the CA root certificates')
    .option('--pem', 'print the PEM certificates of the roots instead of a table')
    .addHelpText('after', examples('mesh ca roots', 'mesh ca roots --pem > roots.pem'))
    .action(async (options: RootsOptions) => {
      const roots = await clientFor(options).get<CaRoots>('/v1/connect/ca/roots')
      if (options.format === 'json') {
        writeJson(roots)
        return
      }
      const list = roots?.Roots ?? []
      if (options.pem === true) {
        write(list.map(root => root.RootCert.trim()).join('\n'))
        return
      }
      write(`Trust domain: ${roots?.TrustDomain ?? ''}\n\n`)
      write(renderTable(['ID', 'Name', 'Active', 'Not After'], list.map(root =>
        [root.ID, root.Name ?? '', root.Active ? 'yes' : 'no', root.NotAfter ?? ''])))
    })
}
