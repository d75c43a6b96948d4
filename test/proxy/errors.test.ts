import t from 'tap'
import { readFileSync } from 'node:fs'
import * as errors from '../../proxy/errors.ts'

const doc = readFileSync(new URL('../../docs/errors/proxy.md', import.meta.url), 'utf8')
const documented = new Set([...doc.matchAll(/`(MESH_ERR_PROXY_[A-Z_]+)`/g)].map((match) => match[1]))

t.test('every proxy error code is documented and no documented code is stale', async (t) => {
  t.same([...documented].sort(), [...errors.PROXY_ERROR_CODES].sort())
})

t.test('every error class has a listed code and a status', async (t) => {
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || value === errors.ProxyError) continue
    const error = value === errors.FaultAbortError ? new errors.FaultAbortError(500, 'x') : new (value as new (message: string) => errors.ProxyError)('x')
    t.ok(errors.PROXY_ERROR_CODES.includes(error.code), `${error.name} has a listed code`)
    t.ok(error.statusCode >= 400 && error.statusCode <= 599, `${error.name} answers an error status`)
    t.ok(error instanceof errors.ProxyError)
  }
})
