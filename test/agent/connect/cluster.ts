// An in-process cluster of ConnectCA managers for tests: one server (or more) and clients wired
// through the injected functions the agent implements over libp2p: state replication by calling
// applyRoots on everyone, and `/mesh/ca/1.0.0` by calling the server's signIntermediateRequest.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectCA } from '../../../agent/connect/manager.ts'
import type { CaReplicatedState } from '../../../agent/connect/state.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

export const CLUSTER_ID = '11111111-2222-3333-4444-555555555555'
export const TRUST_DOMAIN = `${CLUSTER_ID}.consul`

export interface Member {
  name: string
  ca: ConnectCA
  dataDir: string
  services: Set<string>
  /** Intermediate requests this member sent. */
  requests: number
}

export interface Cluster {
  clock: ManualClock
  members: Map<string, Member>
  /** When false, requests to servers fail as if none were reachable. */
  serversReachable: boolean
  published: CaReplicatedState[]
  /** Members whose replicated state updates are held back (a slow gossip path) until release(). */
  held: Map<string, CaReplicatedState[]>
  release (name: string): void
  add (name: string, options?: { server?: boolean, dataDir?: string, services?: string[] }): Member
  member (name: string): Member
  cleanup (): void
}

/** Lets pending promise callbacks (intermediate requests) run. */
export const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve)) }

export function createCluster (): Cluster {
  const dirs: string[] = []
  const cluster: Cluster = {
    clock: new ManualClock(Date.now()),
    members: new Map(),
    serversReachable: true,
    published: [],
    held: new Map(),
    release (name) {
      const states = cluster.held.get(name) ?? []
      cluster.held.delete(name)
      for (const state of states) cluster.member(name).ca.applyRoots(state)
    },
    add (name, options = {}) {
      const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `mesh-connect-${name}-`))
      dirs.push(dataDir)
      const member: Member = { name, dataDir, services: new Set(options.services ?? []), requests: 0, ca: undefined as unknown as ConnectCA }
      member.ca = new ConnectCA({
        nodeName: name,
        datacenter: 'dc1',
        clusterId: CLUSTER_ID,
        server: options.server === true,
        dataDir,
        clock: cluster.clock,
        random: () => 0.5,
        isLocalService: service => member.services.has(service),
        publish: state => {
          cluster.published.push(state)
          for (const other of cluster.members.values()) {
            if (other === member) continue
            const held = cluster.held.get(other.name)
            if (held !== undefined) held.push(state)
            else other.ca.applyRoots(state)
          }
        },
        requestIntermediate: async csrPem => {
          member.requests++
          const server = [...cluster.members.values()].find(candidate => candidate !== member && candidate.ca.status().holdsRootKey)
          if (!cluster.serversReachable || server === undefined) throw new Error('no server reachable')
          return server.ca.signIntermediateRequest(csrPem, name)
        },
      })
      cluster.members.set(name, member)
      return member
    },
    member (name) {
      const found = cluster.members.get(name)
      if (found === undefined) throw new Error(`no member ${name}`)
      return found
    },
    cleanup () {
      for (const member of cluster.members.values()) member.ca.stop()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    },
  }
  return cluster
}
