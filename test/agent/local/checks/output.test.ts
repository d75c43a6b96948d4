import t from 'tap'
import { OUTPUT_MAX_BYTES, OutputBuffer, truncateOutput } from '../../../../agent/local/checks/output.ts'

t.test('output under the cap is kept whole', async t => {
  const buffer = new OutputBuffer()
  buffer.write('hello ')
  buffer.write(Buffer.from('world'))
  t.equal(buffer.toString(), 'hello world')
  t.equal(buffer.writtenBytes, 11)
})

t.test('streamed output over 4 KiB keeps its last 4 KiB and says how much was captured', async t => {
  const buffer = new OutputBuffer()
  for (let index = 0; index < 100; index++) buffer.write('a'.repeat(100))
  buffer.write('THE END')
  const text = buffer.toString()
  t.equal(OUTPUT_MAX_BYTES, 4096)
  t.ok(text.startsWith(`Captured 4096 of ${10_000 + 7} bytes\n...\n`))
  t.ok(text.endsWith('THE END'))
  t.equal(text.length, `Captured 4096 of 10007 bytes\n...\n`.length + 4096)
})

t.test('a single chunk larger than the cap is cut to its tail', async t => {
  const buffer = new OutputBuffer(10)
  buffer.write('0123456789abcdef')
  t.equal(buffer.toString(), 'Captured 10 of 16 bytes\n...\n6789abcdef')
})

t.test('output given whole is cut to its head with the sizes', async t => {
  t.equal(truncateOutput('short'), 'short')
  t.equal(truncateOutput('0123456789', 4), '0123 ... (captured 4 of 10 bytes)')
})
