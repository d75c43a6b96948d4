import t from 'tap'
import { readFileSync } from 'node:fs'
import { INTENTION_ERROR_CODES, InvalidConfigEntryError, InvalidIntentionError, InvalidSpiffeIdError, UnsafeRegexError } from '../../../api/intentions/errors.ts'

const doc = readFileSync(new URL('../../../docs/errors/intentions.md', import.meta.url), 'utf8')

t.test('every error code is documented and no documented code is stale', async (t) => {
  const documented = [...doc.matchAll(/`(MESH_ERR_INTENTIONS_[A-Z_]+)`/g)].map((match) => match[1])
  t.same([...new Set(documented)].sort(), [...INTENTION_ERROR_CODES].sort())
})

t.test('each class carries its registered code', async (t) => {
  const codes = [new InvalidIntentionError('x'), new UnsafeRegexError('f', 'r'), new InvalidConfigEntryError('x'), new InvalidSpiffeIdError('x')].map((error) => error.code)
  t.same(codes.sort(), [...INTENTION_ERROR_CODES].sort())
})
