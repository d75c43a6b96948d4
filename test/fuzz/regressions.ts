// Inputs fuzzing once found to crash, answer 5xx or store something it refused, kept so every run
// replays them first (fast-check's `examples`) after the root cause was fixed. Each entry says what
// it broke and which commit fixed it. Add new ones in the shape of the property's arguments.

import type { HttpCase } from './http.test.ts'

/** Requests to the HTTP API (see http.test.ts `HttpCase`). */
export const httpRegressions: HttpCase[] = [
  // A SidecarService nested 5,000 levels: structuredClone overflowed the stack (500). Fixed by the
  // body nesting cap and the opaque-object shape check.
  { method: 'PUT', url: '/v1/agent/service/register', query: {}, body: { raw: `{"Name":"web","Connect":{"SidecarService":${'{"a":'.repeat(4999)}{}${'}'.repeat(4999)}}}` } },
  // A service ID with a lone surrogate was stored and could never be deregistered.
  { method: 'PUT', url: '/v1/agent/service/register', query: {}, body: { json: { Name: 'web', ID: 'web-\ud800' } } },
]

/** Membership datagrams, as the bytes' text (see membership.test.ts). */
export const membershipRegressions: string[] = [
  // A forged dead at 2^53−1 kept a live member failed for good: its refutation could not be expressed.
  '{"v":1,"type":"gossip","gossip":[{"type":"dead","name":"a2","incarnation":9007199254740991,"from":"x"}]}',
  // Found by fuzzing: a version object whose "toString" is data made the decoder throw a TypeError
  // (String(version)) instead of a MembershipError.
  '{"v":{"toString":null}}',
]

/** DNS packets, hex (see dns.test.ts). */
export const dnsRegressions: string[] = []

/** Replicated entries (see sync.test.ts). */
export const syncRegressions: unknown[] = []

/** CSR PEM texts (see csr.test.ts). */
export const csrRegressions: string[] = []
