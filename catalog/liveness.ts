// What a membership event means for the catalog's view of a node (setNodeLiveness): a failure turns
// its serfHealth critical, a leave hides it, a reap forgets it, and any sign of life (join,
// update, alive) makes it visible and passing again. A suspicion changes nothing: it is often a
// false alarm that the suspect refutes within the suspicion timeout.

import type { Liveness } from './state.ts'

export type MembershipEventName = 'join' | 'update' | 'suspect' | 'alive' | 'fail' | 'leave' | 'reap'

export function livenessOnMembershipEvent (type: MembershipEventName): Liveness | undefined {
  switch (type) {
    case 'fail': return 'failed'
    case 'leave': return 'left'
    case 'reap': return 'reaped'
    case 'suspect': return undefined
    default: return 'alive'
  }
}
