// The shipped systemd unit: its key lines are checked so the unit cannot drift from the CLI,
// and systemd itself verifies it where systemd-analyze is installed.

import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const unitPath = fileURLToPath(new URL('../../dist/mesh.service', import.meta.url))

/** Section name → key → values (a key may repeat). */
function parseUnit (text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const line of text.split('\n').map(line => line.trim())) {
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header !== null) { current = new Map(); sections.set(header[1], current); continue }
    const equals = line.indexOf('=')
    if (current === undefined || equals < 0) throw new Error(`unparsable unit line: ${line}`)
    const key = line.slice(0, equals)
    current.set(key, [...(current.get(key) ?? []), line.slice(equals + 1)])
  }
  return sections
}

t.test('the unit starts the agent on /etc/mesh.d, reloads with HUP and stops with TERM', async (t) => {
  const service = parseUnit(readFileSync(unitPath, 'utf8')).get('Service')
  if (service === undefined) throw new Error('no [Service] section')
  const value = (key: string): string | undefined => service.get(key)?.at(-1)
  t.equal(value('ExecStart'), '/usr/local/bin/mesh agent start --config-dir /etc/mesh.d')
  t.equal(value('ExecReload'), '/bin/kill -HUP $MAINPID')
  t.equal(value('KillSignal'), 'SIGTERM')
  t.equal(value('Type'), 'simple', 'the agent does not implement sd_notify')
  t.equal(value('Restart'), 'on-failure')
  t.equal(value('User'), 'mesh')
  t.equal(value('NoNewPrivileges'), 'yes')
  t.equal(value('ProtectSystem'), 'strict')
  t.equal(value('ReadWritePaths'), '/var/lib/mesh')
  t.ok(value('LimitNOFILE'))
})

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).error === undefined

t.test('systemd-analyze verify accepts the unit', { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed on this machine' }, async (t) => {
  const result = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' })
  // A build machine has no installed binary; that is the only complaint allowed.
  const problems = `${result.stdout}${result.stderr}`.split('\n')
    .filter(line => line.trim() !== '' && !line.includes('/usr/local/bin/mesh is not executable'))
  t.same(problems, [], 'systemd-analyze verify reports nothing else')
})
