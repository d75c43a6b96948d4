// Specification of the membership configuration: presets from one base, validation of overrides.
import t from 'tap'
import { dev, lan, membershipConfig, wan } from '../../../agent/membership/config.ts'

t.test('lan is the default and the presets differ only in timing', async t => {
  t.same(membershipConfig(), lan)
  t.ok(wan.probeIntervalMs > lan.probeIntervalMs && dev.probeIntervalMs < lan.probeIntervalMs)
  t.equal(wan.maxDatagramBytes, lan.maxDatagramBytes)
  t.equal(lan.reconnectTimeoutMs, 72 * 3600_000)
  t.ok(Object.isFrozen(lan))
})

t.test('overrides apply on top of a preset', async t => {
  t.equal(membershipConfig({ gossipNodes: 5 }, wan).gossipNodes, 5)
  t.equal(membershipConfig({ gossipNodes: 5 }, wan).probeIntervalMs, wan.probeIntervalMs)
})

t.test('invalid values are rejected with MESH_ERR_MEMBERSHIP_CONFIG naming the field', async t => {
  const bad: Array<Record<string, unknown>> = [
    { probeIntervalMs: 0 },
    { probeIntervalMs: -5 },
    { probeTimeoutMs: Number.NaN },
    { probeTimeoutMs: 600 },
    { suspicionMaxTimeoutMult: 0.5 },
    { maxReliableMessageBytes: 600 * 1024 },
    { maxDatagramBytes: 100 },
    { gossipNodes: '3' }
  ]
  for (const overrides of bad) {
    t.throws(() => membershipConfig(overrides as never), { code: 'MESH_ERR_MEMBERSHIP_CONFIG' }, JSON.stringify(overrides))
  }
})
