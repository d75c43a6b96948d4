// Specification of the `filter=` grammar (Consul's go-bexpr): every operator, precedence,
// selectors through maps and lists, value typing, and the errors bad expressions get.

import t from 'tap'
import { compileFilter } from '../../catalog/filter.ts'
import { FilterError } from '../../catalog/errors.ts'

const instance = {
  Node: { Node: 'n1', Meta: { rack: 'r1', 'env-name': 'prod' }, Address: '10.0.0.1' },
  Service: { Service: 'web', Tags: ['v1', 'primary'], Port: 8080, Weights: { Passing: 1 }, EnableTagOverride: false, Meta: { version: '1.2.0' }, Address: '' },
  Checks: [
    { CheckID: 'serfHealth', Status: 'passing', ServiceTags: [] },
    { CheckID: 'http', Status: 'critical', ServiceTags: ['v1'] },
  ],
  Ratio: 0.5,
}

const cases: Array<[string, boolean]> = [
  ['Service.Service == web', true],
  ['Service.Service == "web"', true],
  ['Service.Service == `web`', true],
  ['Service.Service != web', false],
  ['Service.Service == api', false],
  ['Service.Port == 8080', true],
  ['Service.Port == "8080"', true],
  ['Service.Port != 80', true],
  ['Service.Port == abc', false],
  ['Ratio == 0.5', true],
  ['Service.EnableTagOverride == false', true],
  ['Service.EnableTagOverride == F', true],
  ['Service.EnableTagOverride == true', false],
  ['Service.Tags contains v1', true],
  ['Service.Tags contains v2', false],
  ['Service.Tags not contains v2', true],
  ['v1 in Service.Tags', true],
  ['"primary" in Service.Tags', true],
  ['"v2" not in Service.Tags', true],
  ['"v1" not in Service.Tags', false],
  ['Service.Service contains eb', true],
  ['Node.Meta contains rack', true],
  ['rack in Node.Meta', true],
  ['Node.Meta not contains zone', true],
  ['Service.Meta.version matches "^1\\\\."', true],
  ['Service.Meta.version matches `^2`', false],
  ['Service.Meta.version not matches `^2`', true],
  ['Service.Service matches "(?i)^WEB$"', true],
  ['Service.Service matches `(?i)^[A-Z]+\\S$`', true],
  ['Service.Service matches "^WEB$"', false],
  ['Service.Address is empty', true],
  ['Service.Address is not empty', false],
  ['Service.Tags is not empty', true],
  ['Node.Meta["env-name"] == prod', true],
  ['Node.Meta["rack"] == r1', true],
  ['Node.Meta[ `rack` ] == r1', true],
  ['Checks.Status == critical', true],
  ['Checks.Status == warning', false],
  ['Checks.Status != passing', true],
  ['Checks.0.CheckID == serfHealth', true],
  ['Checks.1.CheckID == serfHealth', false],
  ['Checks.ServiceTags contains v1', true],
  ['Service.Meta.missing == x', false],
  ['Service.Meta.missing != x', true],
  ['Service.Meta.missing is empty', true],
  ['Service.Meta.missing is not empty', false],
  ['Service.Meta.missing contains x', false],
  ['x not in Service.Meta.missing', true],
  ['Service.Meta.missing matches "."', false],
  ['Service.Meta.missing not matches "."', true],
  ['not Service.Service == web', false],
  ['not not Service.Service == web', true],
  ['Service.Service == api or Service.Port == 8080', true],
  ['Service.Service == web and Service.Port == 80', false],
  // `and` binds tighter than `or`: true or (false and false)
  ['Service.Service == web or Service.Port == 1 and Service.Port == 2', true],
  ['(Service.Service == web or Service.Port == 1) and Service.Port == 2', false],
  // `not` binds tighter than `and`
  ['not Service.Port == 1 and Service.Service == web', true],
  ['not (Service.Port == 8080 and Service.Service == web)', false],
  ['( Service.Service == web )', true],
  ['  Service.Service==web  ', true],
]

t.test('every operator evaluates as bexpr does', async t => {
  for (const [expression, expected] of cases) {
    t.equal(compileFilter(expression)(instance), expected, expression)
  }
})

const errors: Array<[string, RegExp, number]> = [
  ['', /empty expression/, 0],
  ['Service.Service ==', /expected a value/, 18],
  ['Service.Service', /expected an operator .* found the end/, 15],
  ['Service.Service = web', /expected an operator/, 16],
  ['(Service.Service == web', /unmatched parentheses/, 0],
  ['Service.Service == web)', /unmatched "\)"/, 22],
  ['Service.Service == "web', /unterminated string literal/, 19],
  ['Service.Meta["env" == x', /unclosed index/, 12],
  ['Service.Meta[env] == x', /invalid index/, 13],
  ['Service. == x', /field name or index/, 8],
  ['Service.Tags matches "("', /invalid regular expression/, 24],
  ['"v1" == Service.Tags', /"in" or "not in"/, 0],
  ['v1 in 42', /invalid selector/, 6],
  ['Service.Port == 12ab', /invalid number literal/, 16],
  ['Service.Address is full', /expected "empty"/, 18],
  ['a == 1 and', /expected a selector, found the end/, 10],
  ['a == 1 or or b == 2', /expected an operator after "or"/, 13],
]

t.test('bad expressions throw FilterError naming the problem and position', async t => {
  for (const [expression, message, position] of errors) {
    try {
      compileFilter(expression)
      t.fail(`${expression} should not compile`)
    } catch (error) {
      t.ok(error instanceof FilterError, expression)
      t.match((error as FilterError).message, message, expression)
      t.equal((error as FilterError).position, position, `${expression} position`)
      t.equal((error as FilterError).code, 'MESH_ERR_CATALOG_FILTER')
    }
  }
})

t.test('matches refuses patterns that need backtracking and runs nested quantifiers in bounded time', async t => {
  t.throws(() => compileFilter('Service.Service matches "(a)\\\\1"'), { code: 'MESH_ERR_CATALOG_FILTER', message: /backreferences/ })
  t.throws(() => compileFilter('Service.Service matches "a(?=b)"'), { code: 'MESH_ERR_CATALOG_FILTER' })
  const evil = compileFilter('Name matches "^(a+)+$"')
  const startMs = performance.now()
  t.equal(evil({ Name: 'a'.repeat(40) + 'b' }), false)
  t.ok(performance.now() - startMs < 1000, 'no catastrophic backtracking')
})

t.test('deep nesting and huge expressions are refused instead of overflowing the stack', async t => {
  t.throws(() => compileFilter('('.repeat(100) + 'a == 1' + ')'.repeat(100)), FilterError)
  t.throws(() => compileFilter('not '.repeat(100) + 'a == 1'), FilterError)
  t.throws(() => compileFilter('a == 1 or '.repeat(1000) + 'a == 1'), FilterError)
})
