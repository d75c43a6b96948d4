// `mesh ca rotate`: starts a root rotation (POST /v1/mesh/ca/rotate, mesh-only). The new root
// is cross-signed by the old one, so existing certificates keep working while leaves are reissued.

import { Command } from 'commander'
import { write, writeJson } from '../../output.ts'
import { clientCommand, clientFor, examples, withFormat } from '../../options.ts'
import type { ClientOptions, FormatOptions } from '../../options.ts'
import { isRecord } from '../../../api/guards.ts'

export function caRotateCommand (): Command {
  return withFormat(clientCommand('rotate'))
    .description('Rotate the CA root (cross-signed: no certificate stops working)')
    .addHelpText('after', examples('mesh ca rotate', 'mesh ca rotate && mesh ca roots'))
    .action(async (options: ClientOptions & FormatOptions) => {
      const answer = await clientFor(options).post<unknown>('/v1/mesh/ca/rotate')
      if (options.format === 'json') {
        writeJson(answer ?? {})
        return
      }
      const newRoot = isRecord(answer) && typeof answer.ActiveRootID === 'string' ? `; new active root ${answer.ActiveRootID}` : ''
      write(`CA root rotation started${newRoot}`)
    })
}
