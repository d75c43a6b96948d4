// What each command loads, observed from outside: the CLI runs under a module hook (written to a
// temporary directory) that logs every resolved module and can swap the agent's and the proxy's
// entry points for stand-ins that record what they were called with.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import type { Test } from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'
import type { RunOptions } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const HOOK = `
import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
const log = process.env.MESH_TEST_LOAD_LOG
const redirects = JSON.parse(process.env.MESH_TEST_REDIRECTS ?? '{}')
registerHooks({
  resolve (specifier, context, nextResolve) {
    for (const [suffix, url] of Object.entries(redirects)) {
      if (specifier.endsWith(suffix)) {
        appendFileSync(log, 'redirected ' + specifier + '\\n')
        return { url, shortCircuit: true, format: 'module' }
      }
    }
    const result = nextResolve(specifier, context)
    appendFileSync(log, result.url + '\\n')
    return result
  },
})
`

const RECORDER = (exportName: string): string => `
import { writeFileSync } from 'node:fs'
export async function ${exportName} (options) {
  writeFileSync(process.env.MESH_TEST_CALL_LOG, JSON.stringify(options))
}
`

interface Traced {
  code: number
  stdout: string
  stderr: string
  loaded: string[]
  /** What the stand-in entry point was called with, if it was. */
  call: unknown
}

async function traced (t: Test, args: string[], options: RunOptions & { redirects?: Record<string, string> } = {}): Promise<Traced> {
  const dir = t.testdir({
    'hook.mjs': HOOK,
    'run-agent.mjs': RECORDER('runAgent'),
    'standalone-proxy.mjs': RECORDER('runStandaloneProxy'),
  })
  const loadLog = join(dir, 'loaded.txt')
  const callLog = join(dir, 'call.json')
  writeFileSync(loadLog, '')
  const redirects = Object.fromEntries(Object.entries(options.redirects ?? {})
    .map(([suffix, file]) => [suffix, file.startsWith('file:') ? file : pathToFileURL(join(dir, file)).href]))
  const result = await runCli(args, {
    ...options,
    nodeArgs: ['--import', pathToFileURL(join(dir, 'hook.mjs')).href],
    env: { ...options.env, MESH_TEST_LOAD_LOG: loadLog, MESH_TEST_CALL_LOG: callLog, MESH_TEST_REDIRECTS: JSON.stringify(redirects) },
  })
  return {
    ...result,
    loaded: readFileSync(loadLog, 'utf8').split('\n').filter(line => line !== ''),
    call: existsSync(callLog) ? JSON.parse(readFileSync(callLog, 'utf8')) : undefined,
  }
}

/** Anything of the agent, catalog, CA, proxy or libp2p stack. */
const HEAVY = /\/(agent|catalog|ca|proxy)\/|node_modules\/(libp2p|@libp2p|@chainsafe|level|classic-level|@peculiar|fastify|pino|undici)\//

t.test('mesh members loads only node built-ins, commander, cli/ files and the dependency-free api/ layer', async t => {
  const agent = await startFakeAgent({ 'GET /v1/agent/members': { body: [] } })
  t.teardown(() => agent.close())
  const result = await traced(t, ['members'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.ok(result.loaded.some(url => url.endsWith('/cli/commands/members.ts')), 'the hook saw the CLI load')
  t.same(result.loaded.filter(url => HEAVY.test(url)), [])
  t.ok(result.loaded.some(url => url.endsWith('/api/agent-client.ts')), 'the shared HTTP client')
  const foreign = result.loaded.filter(url => !url.startsWith('node:') && !/\/cli\/|\/api\/|\/node_modules\/commander\/|\/package\.json$/.test(url))
  t.same(foreign, [])
  t.notOk(result.loaded.some(url => url.endsWith('/cli/commands/register.ts')), 'other commands are not even loaded')
})

t.test('agent start rejects bad flags with one line, before loading the agent', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['--encrypt', 'not-a-key'], /--encrypt must be 32 bytes in base64/],
    [['--encrypt', Buffer.alloc(16).toString('base64')], /--encrypt must be 32 bytes in base64/],
    [['--http-port', '65536'], /--http-port must be a port number between 0 and 65535, got "65536"/],
    [['--dns-port', 'x53'], /--dns-port must be a port number/],
    [['--bind', 'my-host:8301'], /--bind must be an IP address/],
    [['--join', '10.0.0.1:99999'], /--join must be a port number/],
    [['--client', 'localhost'], /--client must be an IP address/],
    [['--log-level', 'verbose'], /Allowed choices are trace, debug, info, warn, error/],
    [['--log-format', 'xml'], /Allowed choices are text, json/],
    [['--default-intention-policy', 'maybe'], /Allowed choices are allow, deny/],
    [['--retry-interval', '30'], /--retry-interval must be a duration/],
    [['--node', '-bad'], /--node must be/],
    [['--recursor', 'dns.google'], /--recursor must be an IP address/],
    [['--bogus'], /unknown option '--bogus'/],
  ]
  for (const [args, message] of cases) {
    const result = await traced(t, ['agent', 'start', ...args], { redirects: { '/agent/run.ts': 'run-agent.mjs' } })
    t.equal(result.code, 1, args.join(' '))
    t.match(result.stderr, message, args.join(' '))
    t.equal(result.stderr.split('\n').length, 2, 'one line')
    t.equal(result.call, undefined, 'runAgent not called')
    t.same(result.loaded.filter(url => HEAVY.test(url) || url.startsWith('redirected')), [], 'agent not loaded')
  }
})

t.test('agent start passes exactly the flags given, parsed, to runAgent', async t => {
  const key = Buffer.alloc(32, 7).toString('base64')
  const result = await traced(t, ['agent', 'start', '--server', '--node', 'vm-1', '--bind', '10.0.0.1:7301',
    '--http-port', '0', '--dns-port', '-1', '--join', '10.0.0.2', '--join', '[fd00::3]:8301', '--encrypt', key,
    '--recursor', '1.1.1.1:53', '--log-level', 'debug', '--retry-interval', '5s', '--default-intention-policy', 'deny'],
  { redirects: { '/agent/run.ts': 'run-agent.mjs' } })
  t.equal(result.code, 0, result.stderr)
  t.same(result.call, {
    server: true,
    node: 'vm-1',
    bind: '10.0.0.1:7301',
    httpPort: 0,
    dnsPort: -1,
    join: ['10.0.0.2', '[fd00::3]:8301'],
    encrypt: key,
    recursor: ['1.1.1.1:53'],
    logLevel: 'debug',
    retryInterval: '5s',
    defaultIntentionPolicy: 'deny',
  })
  const dev = await traced(t, ['agent', 'start', '--dev'], { redirects: { '/agent/run.ts': 'run-agent.mjs' } })
  t.same(dev.call, { dev: true }, 'no defaults are filled in by the CLI')
})

t.test('proxy --sidecar-for hands its resolved options to proxy/standalone.ts', async t => {
  const result = await traced(t, ['proxy', '--sidecar-for', 'web', '--http-addr', '127.0.0.1:9500', '--log-level', 'warn'],
    { redirects: { '/proxy/standalone.ts': 'standalone-proxy.mjs' } })
  t.equal(result.code, 0, result.stderr)
  t.same(result.call, { sidecarFor: 'web', httpAddr: 'http://127.0.0.1:9500', logLevel: 'warn' })
  const noFlag = await runCli(['proxy'])
  t.equal(noFlag.stderr, "Error: required option '--sidecar-for <id>' not specified\n")
})
