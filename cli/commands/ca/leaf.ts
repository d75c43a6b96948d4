// `mesh ca leaf SERVICE --out DIR`: fetches a leaf certificate for a local service
// (GET /v1/agent/connect/ca/leaf/:service) and the roots (GET /v1/agent/connect/ca/roots), and
// writes DIR/<service>.crt (leaf then intermediates), DIR/<service>.key (mode 0600) and
// DIR/ca.pem (every trusted root, active first), for apps that do mTLS without a sidecar.
// Files are written to a temporary name and renamed, so a reader never sees half a key and an
// existing key file never keeps a looser mode.

import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { BadResponseError } from '../../../api/agent-client.ts'
import { OutputFileError, UsageError } from '../../errors.ts'
import { write } from '../../output.ts'
import { argParser, clientCommand, clientFor, examples } from '../../options.ts'
import type { ClientOptions } from '../../options.ts'
import type { CaRoots } from './roots.ts'

interface LeafCert {
  CertPEM: string
  PrivateKeyPEM: string
  ServiceURI?: string
  ValidBefore?: string
}

interface LeafOptions extends ClientOptions {
  out: string
}

/** Service names become file names: nothing that could climb out of DIR. */
const FILE_SAFE_SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

function writeFileAtomically (path: string, content: string, mode: number): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(temporary, content, { mode, flag: 'wx' })
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw new OutputFileError(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message)
  }
}

const ensureNewline = (pem: string): string => pem.endsWith('\n') ? pem : `${pem}\n`

export function caLeafCommand (): Command {
  return clientCommand('leaf')
    .description('Write a leaf certificate, its key and the CA roots for a service to a directory')
    .argument('<service>', 'service name', argParser(text => {
      if (!FILE_SAFE_SERVICE.test(text)) throw new UsageError(`service must be a plain service name, got "${text}"`)
      return text
    }))
    .requiredOption('--out <dir>', 'directory to write <service>.crt, <service>.key and ca.pem into (created if missing)')
    .addHelpText('after', examples('mesh ca leaf web --out /etc/web/tls'))
    .action(async (service: string, options: LeafOptions) => {
      const client = clientFor(options)
      const leafPath = `/v1/agent/connect/ca/leaf/${encodeURIComponent(service)}`
      const leaf = await client.get<LeafCert>(leafPath)
      if (typeof leaf?.CertPEM !== 'string' || typeof leaf.PrivateKeyPEM !== 'string') {
        throw new BadResponseError('GET', leafPath, 'no CertPEM/PrivateKeyPEM')
      }
      const roots = await client.get<CaRoots>('/v1/agent/connect/ca/roots')
      const rootList = [...(roots?.Roots ?? [])].sort((a, b) => Number(b.Active) - Number(a.Active))
      if (rootList.length === 0) throw new BadResponseError('GET', '/v1/agent/connect/ca/roots', 'no roots')
      // The active root's intermediates complete the chain unless the agent already appended them.
      const intermediates = (rootList[0].Active ? rootList[0].IntermediateCerts ?? [] : [])
        .filter(intermediate => !leaf.CertPEM.includes(intermediate.trim()))
      const chain = [leaf.CertPEM, ...intermediates].map(ensureNewline).join('')
      try {
        mkdirSync(options.out, { recursive: true })
      } catch (error) {
        throw new OutputFileError(options.out, (error as NodeJS.ErrnoException).code ?? (error as Error).message)
      }
      const certFile = join(options.out, `${service}.crt`)
      const keyFile = join(options.out, `${service}.key`)
      const caFile = join(options.out, 'ca.pem')
      writeFileAtomically(keyFile, ensureNewline(leaf.PrivateKeyPEM), 0o600)
      writeFileAtomically(certFile, chain, 0o644)
      writeFileAtomically(caFile, rootList.map(root => ensureNewline(root.RootCert)).join(''), 0o644)
      write(`Wrote ${certFile}, ${keyFile} and ${caFile}${leaf.ValidBefore === undefined ? '' : ` (valid until ${leaf.ValidBefore})`}`)
    })
}
