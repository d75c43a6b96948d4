// Traffic config entries are validated field by field; a bad one is refused with a message naming it.

import t from 'tap'
import { validateTrafficEntry } from '../../../agent/http/traffic-entries.ts'

const valid: Array<[string, Record<string, unknown>]> = [
  ['service-resolver', { Name: 'api', Subsets: { v1: { Filter: 'Service.Meta.version == v1' } }, DefaultSubset: 'v1', ConnectTimeout: '2s' }],
  ['service-splitter', { Name: 'api', Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] }],
  ['service-splitter', { Name: 'api', Splits: [{ Weight: 33.33 }, { Weight: 33.33 }, { Weight: 33.34 }] }],
  ['service-defaults', { Name: 'api', RateLimits: { InstanceLevel: { RequestsPerSecond: 10, Routes: [{ PathPrefix: '/a', RequestsPerSecond: 1 }] }, Consumers: [{ Name: 'web', RequestsPerSecond: 5 }] } }],
  ['service-defaults', { Name: 'api', FaultInjection: [{ DelayMs: 100, DelayPercent: 10 }, { AbortStatusCode: 503 }] }],
  ['service-defaults', { Name: 'api', UpstreamConfig: { Defaults: { Limits: { MaxConnections: 100, MaxConcurrentRequests: 0 } }, Overrides: [] } }],
]

const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  ['service-resolver', { Name: 'api', Subsets: { V1: {} } }, /Subset name "V1"/],
  ['service-resolver', { Name: 'api', Subsets: { v1: { Filter: 'Service.Meta.version ==' } } }, /Subsets\["v1"\]\.Filter/],
  ['service-resolver', { Name: 'api', DefaultSubset: 'v9' }, /DefaultSubset "v9" is not one of the Subsets/],
  ['service-resolver', { Name: 'api', RequestTimeout: 'later' }, /RequestTimeout: invalid duration/],
  ['service-splitter', { Name: 'api', Splits: [] }, /at least one split/],
  ['service-splitter', { Name: 'api', Splits: [{ Weight: 90 }, { Weight: 5 }] }, /sum of all split weights must be 100, not 95/],
  ['service-splitter', { Name: 'api', Splits: [{ Weight: 100, Service: 'other' }] }, /Splits\[0\]\.Service/],
  ['service-defaults', { Name: 'api', RateLimits: { InstanceLevel: { RequestsPerSecond: -1 } } }, /RequestsPerSecond must be a number from 0/],
  ['service-defaults', { Name: 'api', RateLimits: { InstanceLevel: { Routes: [{ PathPrefix: '/a', PathExact: '/b', RequestsPerSecond: 1 }] } } }, /exactly one of PathExact, PathPrefix, PathRegex/],
  ['service-defaults', { Name: 'api', RateLimits: { Consumers: [{ RequestsPerSecond: 'many' }] } }, /Consumers\[0\]\.RequestsPerSecond/],
  ['service-defaults', { Name: 'api', FaultInjection: [{ DelayPercent: 10 }] }, /needs DelayMs or AbortStatusCode/],
  ['service-defaults', { Name: 'api', FaultInjection: [{ AbortStatusCode: 700 }] }, /AbortStatusCode must be a number from 200 to 599/],
  ['service-defaults', { Name: 'api', FaultInjection: [{ AbortStatusCode: 503.5 }] }, /FaultInjection\[0\]\.AbortStatusCode must be a whole number/],
  ['service-defaults', { Name: 'api', UpstreamConfig: { Defaults: { Limits: { MaxConnections: 1.5 } } } }, /UpstreamConfig\.Defaults\.Limits\.MaxConnections must be a whole number/],
  ['service-defaults', { Name: 'api', UpstreamConfig: { Defaults: { Limits: { MaxPendingRequests: -1 } } } }, /UpstreamConfig\.Defaults\.Limits\.MaxPendingRequests must be a number from 0/],
]

t.test('valid traffic entries pass', async (t) => {
  for (const [kind, entry] of valid) t.doesNotThrow(() => validateTrafficEntry(kind, entry), `${kind} ${JSON.stringify(entry)}`)
})

t.test('invalid traffic entries are refused with a 400 naming the field', async (t) => {
  for (const [kind, entry, message] of invalid) {
    try {
      validateTrafficEntry(kind, entry)
      t.fail(`${kind} ${JSON.stringify(entry)} was accepted`)
    } catch (error) {
      t.match((error as Error).message, message)
      t.equal((error as { statusCode?: number }).statusCode, 400)
    }
  }
})
