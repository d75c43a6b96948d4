// The agent's persistent identity in its data dir: the node id (a UUID, stable across restarts,
// so a restarted agent is the same node) and the libp2p Ed25519 key (so its peer id survives
// restarts). Key files are written with mode 0600 and never leave this machine.

import { randomUUID } from 'node:crypto'
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export class DataDirError extends Error {
  readonly code = 'MESH_ERR_AGENT_DATA_DIR'
  constructor (message: string) {
    super(message)
    this.name = 'DataDirError'
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Creates the data dir (mode 0700) if needed and checks it is readable and writable. */
export function prepareDataDir (dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new DataDirError(`data dir ${dataDir} is not usable: ${reason}`)
  }
}

export function loadOrCreateNodeId (dataDir: string): string {
  const path = join(dataDir, 'node-id')
  if (existsSync(path)) {
    const id = readFileSync(path, 'utf8').trim()
    if (!UUID_PATTERN.test(id)) throw new DataDirError(`${path} does not hold a node UUID`)
    return id
  }
  const id = randomUUID()
  writeFileSync(path, id + '\n', { mode: 0o600 })
  return id
}

export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, 'libp2p.key')
  if (existsSync(path)) {
    try {
      chmodSync(path, 0o600)
      return privateKeyFromProtobuf(readFileSync(path))
    } catch (error) {
      throw new DataDirError(`${path} does not hold a libp2p private key: ${(error as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 })
  return key
}
