// Builders for intentions in tests: valid records with fixed IDs and timestamps, so tables stay short.

import type { Intention, IntentionAction, IntentionPermission } from '../../../api/intentions/model.ts'
import { precedenceOf } from '../../../api/intentions/model.ts'

const STAMP = '2026-01-01T00:00:00.000Z'

export function l4 (source: string, destination: string, action: IntentionAction): Intention {
  return {
    ID: `id-${source}-${destination}`,
    SourceName: source,
    DestinationName: destination,
    SourceType: 'consul',
    Action: action,
    Precedence: precedenceOf(source, destination),
    Description: '',
    Meta: {},
    CreatedAt: STAMP,
    UpdatedAt: STAMP,
  }
}

export function l7 (source: string, destination: string, permissions: IntentionPermission[]): Intention {
  const { Action: _unused, ...rest } = l4(source, destination, 'allow')
  return { ...rest, Permissions: permissions }
}

export const get = (path: string, headers: Record<string, string | string[]> = {}) => ({ method: 'GET', path, headers })
