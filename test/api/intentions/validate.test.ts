import t from 'tap'
import { buildIntention, validateIntentionFields, validateStoredIntention } from '../../../api/intentions/validate.ts'

const base = { SourceName: 'web', DestinationName: 'api' }

t.test('accepts an L4 intention and fills defaults', async (t) => {
  const fields = validateIntentionFields({ ...base, Action: 'allow' })
  t.same(fields, { SourceName: 'web', DestinationName: 'api', SourceType: 'consul', Action: 'allow', Description: '', Meta: {} })
})

t.test('accepts an L7 intention, upper-casing methods as Consul normalises them', async (t) => {
  const fields = validateIntentionFields({ ...base, Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/a', Methods: ['get', 'Post'] } }] })
  t.same(fields.Permissions, [{ Action: 'deny', HTTP: { PathPrefix: '/a', Methods: ['GET', 'POST'] } }])
  t.equal(fields.Action, undefined)
})

t.test('query names override the body, as the exact endpoint does', async (t) => {
  const fields = validateIntentionFields({ SourceName: 'x', DestinationName: 'y', Action: 'deny' }, { source: 'web', destination: '*' })
  t.equal(fields.SourceName, 'web')
  t.equal(fields.DestinationName, '*')
})

const perm = (http: unknown) => ({ ...base, Permissions: [{ Action: 'allow', HTTP: http }] })

t.test('rejects, with a message naming the problem', async (t) => {
  const rows: Array<[unknown, RegExp, string?]> = [
    [null, /must be a JSON object/],
    [{ ...base }, /Action must be set to 'allow' or 'deny'/],
    [{ ...base, Action: 'maybe' }, /Action must be set to 'allow' or 'deny'/],
    [{ ...base, Action: 'allow', Permissions: [{ Action: 'allow', HTTP: { PathExact: '/' } }] }, /Action must be omitted if Permissions are specified/],
    [{ SourceName: 'web', DestinationName: '*', Permissions: [{ Action: 'allow', HTTP: { PathExact: '/' } }] }, /wildcarded destinations/],
    [{ SourceName: '', DestinationName: 'api', Action: 'allow' }, /SourceName is required/],
    [{ SourceName: 'web*', DestinationName: 'api', Action: 'allow' }, /partial values/],
    [{ SourceName: 'web/x', DestinationName: 'api', Action: 'allow' }, /not a valid service name/],
    [{ SourceName: 'a'.repeat(129), DestinationName: 'api', Action: 'allow' }, /maximum length 128/],
    [{ ...base, Action: 'allow', SourceType: 'external-uri' }, /SourceType must be set to 'consul'/],
    [{ ...base, Action: 'allow', SourceNS: 'team-a' }, /only the "default" namespace/],
    [{ ...base, Action: 'allow', Description: 'd'.repeat(513) }, /Description exceeds maximum length 512/],
    [{ ...base, Action: 'allow', Meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, /maximum element count 64/],
    [{ ...base, Action: 'allow', Meta: { k: 'v'.repeat(513) } }, /exceeds maximum length 512/],
    [{ ...base, Action: 'allow', Meta: { k: 1 } }, /must be a string/],
    [perm(undefined), /Permissions\[0\]\.HTTP is required/],
    [perm({}), /should not be empty/],
    [perm({ PathExact: 'health' }), /PathExact doesn't start with '\/'/],
    [perm({ PathPrefix: 'api' }), /PathPrefix doesn't start with '\/'/],
    [perm({ PathExact: '/a', PathPrefix: '/b' }), /at most one of PathExact, PathPrefix, or PathRegex/],
    [perm({ PathRegex: '(' }), /PathRegex: invalid regular expression/, 'MESH_ERR_INTENTIONS_UNSAFE_REGEX'],
    [perm({ PathRegex: '(a)\\1' }), /invalid regular expression/, 'MESH_ERR_INTENTIONS_UNSAFE_REGEX'],
    [perm({ PathRegex: 'x'.repeat(1025) }), /exceeds maximum length 1024/],
    [perm({ Methods: ['FETCH'] }), /invalid method "FETCH"/],
    [perm({ Methods: ['GET', 'get'] }), /contains "GET" more than once/],
    [perm({ Header: [{ Exact: 'x' }] }), /Header\[0\] missing required Name field/],
    [perm({ Header: [{ Name: 'x', Exact: 'a', Prefix: 'b' }] }), /should only contain one of Present, Exact, Prefix, Suffix, or Regex/],
    [perm({ Header: [{ Name: 'x' }] }), /should only contain one of/],
    [perm({ Header: [{ Name: 'bad name', Present: true }] }), /not a valid header name/],
    [perm({ Header: [{ Name: 'x', Regex: '(?=a)b' }] }), /Header\[0\]\.Regex: invalid regular expression/, 'MESH_ERR_INTENTIONS_UNSAFE_REGEX'],
    [{ ...base, Permissions: [{ Action: 'permit', HTTP: { PathExact: '/' } }] }, /Permissions\[0\]\.Action must be set/],
  ]
  for (const [input, message, code] of rows) {
    t.throws(() => validateIntentionFields(input), { message, code: code ?? 'MESH_ERR_INTENTIONS_INVALID' }, String(message))
  }
})

t.test('buildIntention computes precedence and keeps ID and CreatedAt of the previous version', async (t) => {
  const fields = validateIntentionFields({ SourceName: '*', DestinationName: 'api', Action: 'deny', Precedence: 1 })
  const first = buildIntention(fields, { id: 'id-1', nowMs: Date.UTC(2026, 0, 1) })
  t.equal(first.Precedence, 8, 'precedence from names, not from input')
  t.equal(first.CreatedAt, '2026-01-01T00:00:00.000Z')
  const second = buildIntention({ ...fields, Action: 'allow' }, { id: 'id-2', nowMs: Date.UTC(2026, 0, 2), previous: first })
  t.equal(second.ID, 'id-1')
  t.equal(second.CreatedAt, first.CreatedAt)
  t.equal(second.UpdatedAt, '2026-01-02T00:00:00.000Z')
})

t.test('validateStoredIntention recomputes precedence and requires ID and timestamps', async (t) => {
  const stored = { ...base, ID: 'x', Action: 'allow', Precedence: 1, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z' }
  t.equal(validateStoredIntention(stored).Precedence, 9)
  t.throws(() => validateStoredIntention({ ...stored, ID: undefined }), /ID is required/)
  t.throws(() => validateStoredIntention({ ...stored, CreatedAt: 'yesterday' }), /CreatedAt must be an RFC 3339 timestamp/)
})
