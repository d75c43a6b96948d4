// Loading another folder's entry point only when the command that needs it runs (the agent and
// the proxy cost about a second to import; client commands must not pay it), with a clear error
// when that folder is not part of this installation.

import { fileURLToPath } from 'node:url'
import { ModuleMissingError } from './errors.ts'

function sameFile (missingUrl: string | undefined, path: string): boolean {
  if (missingUrl === undefined) return false
  try { return fileURLToPath(missingUrl) === path } catch { return false }
}

export async function importEntryPoint<T> (url: URL, what: string): Promise<T> {
  try {
    return await import(url.href) as T
  } catch (error) {
    const path = fileURLToPath(url)
    // Only the entry point itself being absent is "not installed"; a missing dependency inside
    // it is a real bug and keeps its own message.
    const missing = error as NodeJS.ErrnoException & { url?: string }
    // Loader hooks (a test runner's, say) may rethrow the resolver's error without its code or
    // URL, so the message naming the file is accepted too.
    const named = sameFile(missing.url, path) || String(missing.message).includes(`'${path}'`)
    if ((missing.code === 'ERR_MODULE_NOT_FOUND' || missing.code === undefined) && named) {
      throw new ModuleMissingError(what, path)
    }
    throw error
  }
}
