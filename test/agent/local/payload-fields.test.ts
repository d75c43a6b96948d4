import t from 'tap'
import { PayloadFields } from '../../../agent/local/payload-fields.ts'

const fields = (record: Record<string, unknown>) => new PayloadFields(record, message => new Error(message), 'Proxy.')

t.test('keys match case-insensitively and in snake_case; an exact match wins', async t => {
  t.equal(fields({ name: 'a' }).string('Name'), 'a')
  t.equal(fields({ enable_tag_override: true }).boolean('EnableTagOverride'), true)
  t.equal(fields({ name: 'loose', Name: 'exact' }).string('Name'), 'exact')
  t.equal(fields({ script_args: ['x'] }).stringArray('Args', ['ScriptArgs'])?.[0], 'x')
  t.equal(fields({ Name: null }).string('Name'), undefined, 'null is absent')
})

t.test('type errors name the field with its prefix', async t => {
  t.throws(() => fields({ Port: '80' }).integer('Port', 0, 65535), { message: 'Proxy.Port must be an integer between 0 and 65535' })
  t.throws(() => fields({ Tags: 'a' }).stringArray('Tags'), { message: 'Proxy.Tags must be an array of strings' })
  t.throws(() => fields({ Interval: '10 seconds' }).durationMs('Interval'), { message: 'Proxy.Interval must be a duration such as "10s", got "10 seconds"' })
})

t.test('durations: Go strings or nanoseconds', async t => {
  t.equal(fields({ TTL: '1m30s' }).durationMs('TTL'), 90_000)
  t.equal(fields({ TTL: 2_000_000_000 }).durationMs('TTL'), 2000)
  t.equal(fields({ TTL: '' }).durationMs('TTL'), undefined)
})
