// The fault fixture itself, with ping between two test hosts and no agent: hosts reach each other
// over the bridge, a partition cuts both ways and heals, a one-way cut drops only what the cut
// host receives (its requests still arrive), loss drops some packets but not all, and closing the
// lab removes every namespace it made.

import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { NetLab, unavailableReason } from './netns.ts'

const run = promisify(execFile)
const reason = unavailableReason()

/** Echo replies `from` got from `to` out of `count` pings. */
async function pings (lab: NetLab, from: string, to: string, count: number): Promise<number> {
  const args = ['netns', 'exec', lab.host(from).ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.01', '-W', '1', lab.host(to).addr]
  // ping exits non-zero when replies are missing; its summary line still says how many came.
  const output = await run('ip', args).then(({ stdout }) => ({ stdout, stderr: '' }), (error: { stdout?: string, stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }))
  const received = /(\d+) received/.exec(output.stdout)
  if (received === null) throw new Error(`ping (iputils-ping) printed no summary: ${output.stdout}${output.stderr}`.trim())
  return Number(received[1])
}

async function receivedPackets (lab: NetLab, name: string): Promise<number> {
  const { stdout } = await run('ip', ['-n', lab.host(name).ns, '-j', '-s', 'link', 'show', 'eth0'])
  return (JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number } } }>)[0].stats64.rx.packets
}

t.test('partitions, one-way cuts and loss act on the traffic between test hosts; close removes all', { skip: reason ?? false }, async (t) => {
  const lab = await NetLab.create(['x', 'y'])
  t.teardown(async () => await lab.close())
  t.not(lab.host('x').addr, lab.host('y').addr, 'each host has its own address')

  t.equal(await pings(lab, 'x', 'y', 5), 5, 'x reaches y over the bridge')

  await lab.partition(['x'], ['y'])
  t.equal(await pings(lab, 'x', 'y', 3), 0, 'partitioned: x does not reach y')
  t.equal(await pings(lab, 'y', 'x', 3), 0, 'nor y x')
  t.ok(((await lab.dropped()).x.partition ?? 0) >= 3, 'the partition rule counted its drops')
  await lab.heal()
  t.equal(await pings(lab, 'y', 'x', 5), 5, 'healed: y reaches x again')

  await lab.cutOneWay('y', 'x')
  const yReceivedBefore = await receivedPackets(lab, 'y')
  t.equal(await pings(lab, 'x', 'y', 5), 0, 'x hears no reply from y')
  t.ok(await receivedPackets(lab, 'y') - yReceivedBefore >= 5, 'while y received every request x sent')
  t.ok(((await lab.dropped()).x['cut-from-y'] ?? 0) >= 5, 'x dropped the replies')
  await lab.heal()

  await lab.loss(10)
  const replies = await pings(lab, 'x', 'y', 200)
  t.ok(replies > 100 && replies < 200, `10 % loss each way: ${replies} of 200 round trips completed`)
  const dropped = await lab.dropped()
  t.ok((dropped.x.loss ?? 0) > 0 && (dropped.y.loss ?? 0) > 0, `both hosts dropped some of what they sent (${JSON.stringify(dropped)})`)
  await lab.heal()

  await t.rejects(lab.loss(0), /whole percentage/, 'a loss outside 1..100 is refused')
  t.throws(() => lab.host('z'), /no host "z"/)
  await t.rejects(NetLab.create(['Bad-Name']), /must be 1-8 lowercase/, 'host names are checked before anything is made')

  const namespaces = lab.namespaces()
  t.equal(namespaces.length, 3, 'a bridge namespace and one per host')
  await lab.close()
  const { stdout } = await run('ip', ['netns', 'list'])
  t.same(namespaces.filter((ns) => stdout.includes(ns)), [], 'close removed every namespace the lab made')
})
