// Root private keys on a server agent's disk: `<dataDir>/connect/root-<signing-key-id>.key`, one
// PKCS#8 PEM per root, files mode 0600 in a 0700 directory, written through a temp file and a
// rename so a crash never leaves half a key. A key file others can read is refused on load rather
// than used: the root key is the whole cluster's identity.

import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CaKeyFileError } from '../../ca/errors.ts'

const FILE_PATTERN = /^root-([0-9a-f]+)\.key$/

export class RootKeyStore {
  readonly #directory: string

  constructor (dataDir: string) {
    this.#directory = join(dataDir, 'connect')
  }

  pathFor (signingKeyId: string): string {
    return join(this.#directory, `root-${signingKeyId.replaceAll(':', '')}.key`)
  }

  async save (signingKeyId: string, privateKeyPem: string): Promise<void> {
    await mkdir(this.#directory, { recursive: true, mode: 0o700 })
    await chmod(this.#directory, 0o700)
    const path = this.pathFor(signingKeyId)
    const temporary = `${path}.${process.pid}.tmp`
    await writeFile(temporary, privateKeyPem, { mode: 0o600, flag: 'w' })
    await chmod(temporary, 0o600)
    await rename(temporary, path)
  }

  /** Every stored key by signing key id (colon hex); throws CaKeyFileError for a file others can read. */
  async loadAll (): Promise<Map<string, string>> {
    const keys = new Map<string, string>()
    let names: string[]
    try {
      names = await readdir(this.#directory)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return keys
      throw new CaKeyFileError(`cannot list ${this.#directory}: ${(error as Error).message}`)
    }
    for (const name of names) {
      const match = FILE_PATTERN.exec(name)
      if (match === null) continue
      const path = join(this.#directory, name)
      const info = await stat(path)
      if ((info.mode & 0o077) !== 0) throw new CaKeyFileError(`${path} has mode ${(info.mode & 0o777).toString(8)}; it must be 600 (chmod 600 it)`)
      keys.set((match[1].match(/../g) ?? []).join(':'), await readFile(path, 'utf8'))
    }
    return keys
  }

  async remove (signingKeyId: string): Promise<void> {
    await rm(this.pathFor(signingKeyId), { force: true })
  }
}
