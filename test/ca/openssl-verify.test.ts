// Every certificate the CA issues passes `openssl verify -x509_strict`, including leaves under a
// rotated root checked against the old root through the cross-signed certificate.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildHierarchy } from './fixtures.ts'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

function opensslVerify (dir: string, files: { root: string, untrusted?: string, leaf: string }): { ok: boolean, output: string } {
  const write = (name: string, pem: string): string => { const path = join(dir, name); writeFileSync(path, pem); return path }
  const args = ['verify', '-x509_strict', '-CAfile', write('root.pem', files.root)]
  if (files.untrusted !== undefined) args.push('-untrusted', write('untrusted.pem', files.untrusted))
  args.push(write('leaf.pem', files.leaf))
  const result = spawnSync('openssl', args, { encoding: 'utf8' })
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` }
}

t.test('openssl verify -x509_strict accepts every certificate type', { skip: hasOpenssl ? false : 'openssl is not installed' }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-ca-openssl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const keySpec of [{ type: 'ec', bits: 256 }, { type: 'ec', bits: 384 }, { type: 'rsa', bits: 2048 }] as const) {
    const h = buildHierarchy(keySpec)
    const name = `${keySpec.type}-${keySpec.bits}`
    const cases = [
      ['root (self-signed)', { root: h.rootPem, leaf: h.rootPem }],
      ['intermediate', { root: h.rootPem, leaf: h.intermediatePem }],
      ['service leaf', { root: h.rootPem, untrusted: h.intermediatePem, leaf: h.web.certPem }],
      ['agent leaf', { root: h.rootPem, untrusted: h.intermediatePem, leaf: h.agent.certPem }],
      ['cross-signed root under the old root', { root: h.rootPem, leaf: h.crossPem }],
      ['new-root leaf against the new root', { root: h.root2Pem, untrusted: h.intermediate2Pem + h.crossPem, leaf: h.db.certPem }],
      ['new-root leaf against the old root, via the cross-signed root', { root: h.rootPem, untrusted: h.intermediate2Pem + h.crossPem, leaf: h.db.certPem }],
    ] as const
    for (const [what, files] of cases) {
      const result = opensslVerify(dir, files)
      t.ok(result.ok, `${name}: ${what}`, { output: result.output })
    }
    t.notOk(opensslVerify(dir, { root: h.root2Pem, untrusted: h.intermediatePem, leaf: h.web.certPem }).ok, `${name}: an old-root leaf does not verify against an unrelated root`)
  }
})
