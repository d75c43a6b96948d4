// Runs the canary demo as a user does (`node examples/canary/run.ts`, what `npm run demo:canary`
// starts) and holds it to its promise: exit 0, the four steps 0/10/50/100 % in order, each split
// measured from the sidecars' metrics within the tolerance the output states (0 % and 100 %
// exact), zero failed requests, and nothing left behind: no temp dir, no process. Ctrl-C in the
// middle of the run cleans up too, and a bad flag is refused before anything starts.

import t from 'tap'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { waitFor } from '../e2e/harness.ts'

const RUN = new URL('../../examples/canary/run.ts', import.meta.url).pathname

interface Run { child: ChildProcess, output: () => string, exited: Promise<number | null> }

function run (args: string[]): Run {
  const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, output: () => output, exited }
}

/** The pids and temp dirs the demo reports as it starts them. */
function leftovers (output: string): { pids: number[], dirs: string[] } {
  const pids = [...output.matchAll(/ pid (\d+) /g)].map((match) => Number(match[1]))
  const dirs = [...output.matchAll(/(?:temp|data) dir (\S+)/g)].map((match) => match[1]!)
  return { pids, dirs }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('the demo shifts 0 → 10 → 50 → 100 % with zero failed requests', async (t) => {
  const demo = run(['--requests', '200', '--rate', '100'])
  const code = await demo.exited
  const output = demo.output()
  if (code !== 0) t.comment(output)
  t.equal(code, 0, 'exit 0')
  t.match(output, /PASSED: every step within tolerance, zero failed requests/)

  const rows = [...output.matchAll(/^(\d+) %\s+(\S+)\s+(\d+) ms\s+(\d+)\s+(\d+)\s+([\d.]+) %\s+(exact|±[\d.]+ pp)\s+(\d+)\/(\d+)\s+(\d+)\s+(yes|NO)$/gm)]
    .map((match) => ({ weight: Number(match[1]), dir: match[2], v1: Number(match[4]), v2: Number(match[5]), share: Number(match[6]), tolerance: match[7]!, failed: Number(match[10]), ok: match[11] }))
  t.same(rows.map((row) => [row.weight, row.dir]), [[0, 'config/10-v2-0'], [10, 'config/20-v2-10'], [50, 'config/30-v2-50'], [100, 'config/40-v2-100']], 'the four steps, in order, each from its versioned directory')
  for (const row of rows) {
    t.ok(row.v1 + row.v2 >= 200, `${row.weight} %: at least the 200 requests of the window are counted in the sidecars' metrics (${row.v1 + row.v2})`)
    t.equal(row.failed, 0, `${row.weight} %: no request failed during the step, the switch included`)
    t.equal(row.ok, 'yes', `${row.weight} %: within tolerance`)
    const tolerance = row.tolerance === 'exact' ? 0 : Number(row.tolerance.slice(1, -3))
    t.ok(Math.abs(row.share - row.weight) <= tolerance + 0.05, `${row.weight} %: measured ${row.share} % to v2, within ${row.tolerance}`)
  }
  t.equal(rows[0]?.v2, 0, '0 %: v2 gets no request')
  t.equal(rows[3]?.v1, 0, '100 %: v1 gets no request')
  t.match(output, /tolerance: a measured share may be 4 standard deviations/, 'the output states the tolerance')
  t.match(output, /requests: (\d+) sent through the caller's sidecar, \1 answered by a version, 0 failed \(caller\); 0 answered non-200/, 'zero failed requests across the run')

  const { pids, dirs } = leftovers(output)
  t.equal(pids.length, 6, 'three agents, two web versions and the caller')
  t.equal(dirs.length, 4, 'the demo\'s temp dir and the three agents\' data dirs')
  t.same(pids.filter(alive), [], 'no process is left running')
  t.same(dirs.filter((dir) => existsSync(dir)), [], 'the temp dirs are gone')
})

t.test('Ctrl-C in the middle stops every process and removes the temp dir', async (t) => {
  const demo = run(['--requests', '200'])
  await waitFor('the request stream to start', async () => demo.output().includes('request stream started'), 120_000, 100)
  demo.child.kill('SIGINT')
  t.equal(await demo.exited, 130, 'exit 130, as after Ctrl-C')
  const output = demo.output()
  t.match(output, /SIGINT: stopping every process and removing the temp dir/)
  const { pids, dirs } = leftovers(output)
  t.equal(pids.length, 6)
  t.equal(dirs.length, 4)
  t.same(pids.filter(alive), [], 'no process is left running')
  t.same(dirs.filter((dir) => existsSync(dir)), [], 'the temp dirs are gone')
})

t.test('a bad flag is refused before anything starts', async (t) => {
  const demo = run(['--requests', 'many'])
  t.equal(await demo.exited, 1)
  t.match(demo.output(), /--requests must be a whole number from 20 to 100000, not many/)
  t.notMatch(demo.output(), /temp dir/, 'nothing was started')
})
