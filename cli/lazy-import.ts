// Loading another folder's entry point only when the command that needs it runs (the agent and
// the proxy cost about a second to import; client commands must not pay it), with a clear error
// when that folder is not part of this installation.

import { fileURLToPath } from 'node:url'
import { ModuleMissingError } from './errors.ts'

export async function importEntryPoint<T> (url: URL, what: string): Promise<T> {
  try {
    return await import(url.href) as T
  } catch (error) {
    const path = fileURLToPath(url)
    // Only the entry point itself being absent is "not installed"; a missing dependency inside
    // it is a real bug and keeps its own message.
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (error as Error).message.includes(`'${path}'`)) {
      throw new ModuleMissingError(what, path)
    }
    throw error
  }
}
