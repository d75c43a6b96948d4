import t from 'tap'
import { fromConfigEntry, toConfigEntry } from '../../../api/intentions/config-entry.ts'
import type { Intention } from '../../../api/intentions/model.ts'
import { l4, l7 } from './fixtures.ts'

const NOW_MS = Date.UTC(2026, 5, 1)

function contextOver (intentions: Intention[]) {
  let next = 0
  return {
    nowMs: NOW_MS,
    newId: () => `new-${next++}`,
    existing: (source: string, destination: string) => intentions.find((i) => i.SourceName === source && i.DestinationName === destination),
  }
}

t.test('an entry becomes one intention per source, in evaluation order, with computed precedence', async (t) => {
  const intentions = fromConfigEntry({
    Kind: 'service-intentions',
    Name: 'api',
    Meta: { owner: 'team-a' },
    Sources: [
      { Name: '*', Action: 'deny', Precedence: 1 },
      { Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/v1', Methods: ['get'] } }], Description: 'web reads v1' },
    ],
  }, contextOver([]))
  t.same(intentions.map((i) => [i.SourceName, i.DestinationName, i.Precedence, i.ID]), [['web', 'api', 9, 'new-1'], ['*', 'api', 8, 'new-0']])
  t.same(intentions[0].Permissions, [{ Action: 'allow', HTTP: { PathPrefix: '/v1', Methods: ['GET'] } }])
  t.equal(intentions[0].Description, 'web reads v1')
  t.same(intentions[1].Meta, { owner: 'team-a' }, 'entry Meta copied to each intention')
  t.equal(intentions[1].CreatedAt, new Date(NOW_MS).toISOString())
})

t.test('round trip: intentions → entry → intentions keeps every field but UpdatedAt', async (t) => {
  const original = [
    { ...l4('*', 'api', 'deny'), Meta: { a: '1' }, Description: 'default' },
    { ...l7('web', 'api', [{ Action: 'deny', HTTP: { PathExact: '/admin', Header: [{ Name: 'x-debug', Present: true, Invert: true }] } }]), Meta: { b: '2' } },
    l4('web', 'db', 'allow'),
  ]
  const entry = toConfigEntry('api', original)
  t.ok(entry)
  t.same(entry!.Sources.map((s) => s.Name), ['web', '*'])
  t.equal(entry!.Meta, undefined, 'Meta differs per intention, so it is per source')
  const back = fromConfigEntry(JSON.parse(JSON.stringify(entry)), contextOver(original))
  const strip = (i: Intention) => ({ ...i, UpdatedAt: '' })
  t.same(back.map(strip), original.filter((i) => i.DestinationName === 'api').sort((a, b) => b.Precedence - a.Precedence).map(strip))
})

t.test('shared Meta comes back as the entry Meta', async (t) => {
  const entry = toConfigEntry('api', [{ ...l4('a', 'api', 'allow'), Meta: { k: 'v' } }, { ...l4('b', 'api', 'deny'), Meta: { k: 'v' } }])
  t.same(entry?.Meta, { k: 'v' })
  t.equal(entry?.Sources[0].LegacyMeta, undefined)
})

t.test('a destination without intentions has no entry', async (t) => {
  t.equal(toConfigEntry('api', [l4('web', 'db', 'allow')]), undefined)
})

t.test('bad entries are refused as a whole, with Consul\'s messages', async (t) => {
  const rows: Array<[unknown, RegExp, string]> = [
    [[], /must be a JSON object/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-defaults', Name: 'api', Sources: [] }, /Kind must be "service-intentions"/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Sources: [{ Name: 'web', Action: 'allow' }] }, /Name is required/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [] }, /At least one source is required/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Action: 'allow' }] }, /Sources\[0\]\.Name is required/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'web', Action: 'deny' }] }, /Sources\[1\] defines "web" more than once/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web' }] }, /^Sources\[0\]\.Action must be set to 'allow' or 'deny'$/, 'MESH_ERR_INTENTIONS_INVALID'],
    [{ Kind: 'service-intentions', Name: '*', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathExact: '/' } }] }] }, /^Sources\[0\]\.Permissions cannot be specified on intentions with wildcarded destinations$/, 'MESH_ERR_INTENTIONS_INVALID'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathRegex: '(a)\\1' } }] }] }, /^Sources\[0\]\.Permissions\[0\]\.HTTP\.PathRegex: invalid regular expression/, 'MESH_ERR_INTENTIONS_UNSAFE_REGEX'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow', Type: 'external-trust-domain' }] }, /Type must be set to 'consul'/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow', Peer: 'dc2' }] }, /Peer is not supported/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
    [{ Kind: 'service-intentions', Name: 'api', Namespace: 'team', Sources: [{ Name: 'web', Action: 'allow' }] }, /only the "default" namespace/, 'MESH_ERR_INTENTIONS_CONFIG_ENTRY'],
  ]
  for (const [input, message, code] of rows) {
    t.throws(() => fromConfigEntry(input, contextOver([])), { message, code }, String(message))
  }
})
