'use strict'
// node --test tests/js/
//
// Loads indexes built by sitegen (Python; tests/js/build_fixture.py) into the
// real themes/default/static/search.js + lunr.js 2.3.9 and checks that, for
// every query of queries.json, merging only the shards the query needs gives
// the same refs and scores as lunr.py (0.8.0) searching the unsharded index,
// and as lunr.js searching the unsharded index.
//
// Fixtures: $SITEGEN_SEARCH_FIXTURE if set (a directory build_fixture.py
// wrote), else built now with $SITEGEN_PYTHON (default python3).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const vm = require('vm')
const childProcess = require('child_process')

const lunr = require('lunr')
const core = require('../../themes/default/static/search.js')

const TOL = 1e-6

function fixtureDir () {
  if (process.env.SITEGEN_SEARCH_FIXTURE) return process.env.SITEGEN_SEARCH_FIXTURE
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitegen-search-fixture-'))
  const py = process.env.SITEGEN_PYTHON || 'python3'
  childProcess.execFileSync(py, [path.join(__dirname, 'build_fixture.py'), dir], { stdio: 'inherit' })
  return dir
}

const FIXTURE = fixtureDir()
const CORPORA = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'corpora.json'), 'utf8'))
const QUERIES = JSON.parse(fs.readFileSync(path.join(__dirname, 'queries.json'), 'utf8'))

function readJson (corpus, name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE, corpus, name), 'utf8'))
}

function fileEngine (corpus, log, opts) {
  return core.createEngine(function (name) {
    if (log) log.push(name)
    try {
      return Promise.resolve(readJson(corpus, path.join('search', name)))
    } catch (e) {
      return Promise.reject(e)
    }
  }, opts)
}

function sorted (pairs) {
  return pairs.slice().sort(function (a, b) { return (b[1] - a[1]) || (a[0] - b[0]) })
}

/* Same refs, scores within TOL, same order up to near-ties. */
function assertSameResults (actual, expected, what) {
  const a = sorted(actual)
  const e = sorted(expected)
  assert.equal(a.length, e.length, what + ': number of results')
  const byRef = new Map(e)
  for (const [ref, score] of a) {
    assert.ok(byRef.has(ref), what + ': unexpected ref ' + ref)
    assert.ok(Math.abs(byRef.get(ref) - score) <= TOL,
      what + ': ref ' + ref + ' score ' + score + ' != ' + byRef.get(ref))
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i][0] !== e[i][0]) {
      assert.ok(Math.abs(a[i][1] - e[i][1]) <= TOL, what + ': order differs at ' + i)
    }
  }
}

for (const corpus of CORPORA) {
  test('lunr.js on merged shards == lunr.py on the full index: ' + corpus, async function () {
    const expected = readJson(corpus, 'expected.json')
    const manifest = readJson(corpus, 'search/manifest.json')
    const full = lunr.Index.load(readJson(corpus, 'full.json'))
    let nonEmpty = 0
    for (const q of QUERIES) {
      const exp = expected[q]
      assert.ok(exp, 'no expectation for ' + q)
      const log = []
      let res = null
      let error = null
      try {
        res = await fileEngine(corpus, log).search(q)
      } catch (e) {
        error = e
      }
      if (exp.error) {
        if (exp.error === 'wildcard') {
          assert.ok(error instanceof core.QueryError, q + ': expected a friendly wildcard error')
        } else {
          assert.ok(res && res.hint, q + ': expected a syntax hint')
        }
        continue
      }
      assert.equal(error, null, q + ': ' + error)
      const got = res.results.map(function (r) { return [r.ref, r.score] })
      assertSameResults(got, exp.results, corpus + ' "' + q + '" vs lunr.py')
      if (got.length) nonEmpty++

      // the reference path: merged shards -> lunr.Index.load -> lunr's query
      const viaLunr = await fileEngine(corpus, null, { lunrIndex: true }).search(q)
      assertSameResults(viaLunr.results.map(function (r) { return [r.ref, r.score] }), exp.results,
        corpus + ' "' + q + '" lunr.Index path vs lunr.py')
      for (const r of res.results.slice(0, 10)) {
        assert.deepEqual(res.termsFor(r.ref).sort(), viaLunr.termsFor(String(r.ref)).sort(), q + ': matched terms')
      }

      // the same query on the unsharded index, in lunr.js
      const parsed = core.parseQuery(q, manifest.fields)
      const fullRes = parsed.clauses.length
        ? core.runQuery(full, parsed.clauses).map(function (r) { return [+r.ref, r.score] })
        : []
      assertSameResults(got, fullRes, corpus + ' "' + q + '" vs unsharded lunr.js')

      // only the shards the query needs were loaded
      const shards = log.filter(function (n) { return n.indexOf('shard-') === 0 })
      const want = core.neededShards(manifest, parsed.clauses)
      assert.equal(shards.length, want.length, q + ': shards loaded')
      if (manifest.shards.first.length > 10 && /^[a-z]+$/.test(q)) {
        assert.ok(shards.length <= 1, q + ': a one-word query loads one shard')
      }
    }
    assert.ok(nonEmpty >= 50, 'at least 50 queries with results, got ' + nonEmpty)
  })
}

test('sharded corpora really have many shards', function () {
  for (const corpus of CORPORA) {
    if (corpus === 'dumps') continue
    const m = readJson(corpus, 'search/manifest.json')
    assert.ok(m.shards.first.length >= 20, corpus + ': ' + m.shards.first.length + ' shards')
  }
})

test('every .js twin registers exactly its .json twin and is script-safe', function () {
  for (const corpus of CORPORA) {
    const dir = path.join(FIXTURE, corpus, 'search')
    const names = fs.readdirSync(dir).filter(function (n) { return n.endsWith('.json') })
    const sandbox = { window: {} }
    vm.createContext(sandbox)
    for (const name of names) {
      const json = fs.readFileSync(path.join(dir, name), 'utf8')
      const js = fs.readFileSync(path.join(dir, name.replace(/\.json$/, '.js')), 'utf8')
      for (const text of [json, js]) {
        assert.ok(!/[<>\u2028\u2029]/.test(text), name + ' has an unescaped < > U+2028 or U+2029')
      }
      vm.runInContext(js, sandbox)
      assert.equal(JSON.stringify(sandbox.window.SITEGEN_SEARCH_DATA[name]), JSON.stringify(JSON.parse(json)), name)
    }
  }
})

test('doc store rows resolve for results', async function () {
  const corpus = CORPORA[0]
  const engine = fileEngine(corpus)
  const res = await engine.search('survey')
  const docs = await engine.docs(res.results.slice(0, 8).map(function (r) { return r.ref }))
  assert.equal(docs.length, Math.min(8, res.results.length))
  for (const d of docs) {
    assert.equal(typeof d.title, 'string')
    assert.match(d.url, /^papers\/.+\/$/)
    assert.match(d.date, /^\d{4}-\d{2}-\d{2}$/)
    assert.ok(d.snippet.length <= 241)
  }
  assert.match(docs[0].title + ' ' + docs[0].snippet, /survey/i)
})

test('syntax errors become hints, never exceptions', async function () {
  const engine = fileEngine(CORPORA[0])
  for (const q of ['foo:', '~', '+', '-', 'title:', 'foo~', 'a^', '^', '::', 'author:x', 'survey:']) {
    const res = await engine.search(q)
    assert.ok(res.hint, q + ' gives a hint')
    assert.match(res.hint, /title:word/)
  }
  const withWords = await engine.search('survey:')
  assert.ok(withWords.results.length > 0, 'falls back to the plain words')
  for (const q of ['*', '*vey', '(*vey']) {
    await assert.rejects(engine.search(q), core.QueryError, q)
  }
  const stop = await engine.search('the of')
  assert.equal(stop.results.length, 0)
  assert.ok(stop.empty)
})

test('wildcards load exactly the shard range of their prefix', function () {
  const m = { shards: { first: ['', 'b', 'ca', 'cb', 'cc', 'd'] } }
  const clause = function (term, extra) {
    return Object.assign({ term: term, usePipeline: term.indexOf('*') === -1, fields: ['title'] }, extra || {})
  }
  assert.deepEqual(core.neededShards(m, [clause('c*')]), [1, 2, 3, 4])
  assert.deepEqual(core.neededShards(m, [clause('cb*')]), [3])
  assert.deepEqual(core.neededShards(m, [clause('cbz*')]), [3])
  assert.deepEqual(core.neededShards(m, [clause('a*')]), [0])
  assert.deepEqual(core.neededShards(m, [clause('z*')]), [5])
  assert.deepEqual(core.neededShards(m, [clause('cats')]), [2])   // stemmed: "cat"
  assert.deepEqual(core.neededShards(m, [clause('cat', { editDistance: 1 })]), [0, 1, 2, 3, 4, 5])
})

test('highlighting marks words by their lunr term, keeps everything else as text', function () {
  const parts = core.highlight('Displays of key-value Surveys (survey), <b>keys</b> keys.', ['display', 'key', 'survey'])
  const marked = parts.filter(function (p) { return p.mark }).map(function (p) { return p.text })
  assert.deepEqual(marked, ['Displays', 'key', 'Surveys', 'survey', 'keys'])
  assert.equal(parts.map(function (p) { return p.text }).join(''), 'Displays of key-value Surveys (survey), <b>keys</b> keys.')
  assert.deepEqual(core.highlight('no match here', ['xyz']), [{ text: 'no match here', mark: false }])
})

test('the vendored lunr.min.js is lunr 2.3.9', function () {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'themes', 'default', 'static', 'vendor', 'lunr.min.js'), 'utf8')
  const sandbox = {}
  sandbox.window = sandbox
  vm.createContext(sandbox)
  vm.runInContext(src, sandbox)
  assert.equal(sandbox.lunr.version, '2.3.9')
  assert.equal(lunr.version, '2.3.9')
})

test('lazy ranking (quickselect + partial sort) equals a full sort, ties by ref', function () {
  let seed = 12345
  const rand = function () { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  for (const n of [0, 1, 2, 7, 100, 5000]) {
    const scores = new Float64Array(n + 10)
    const docs = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      docs[i] = n - 1 - i
      scores[docs[i]] = Math.floor(rand() * 50) / 7   // many ties
    }
    const expected = Array.from(docs).sort(function (a, b) { return (scores[b] - scores[a]) || (a - b) })
    const r = core.ranked(docs, scores, null)
    let shown = []
    for (const step of [1, 8, 3, 20, 1000, 100000]) {
      shown = shown.concat(r.slice(shown.length, shown.length + step).map(function (x) { return x.ref }))
    }
    assert.deepEqual(shown, expected, 'n=' + n)
    assert.equal(r.count, n)
    assert.deepEqual(r.results.map(function (x) { return x.ref }), expected)
  }
})

test('one engine answering every query in turn (shard cache and eviction) stays exact', async function () {
  for (const corpus of CORPORA) {
    const expected = readJson(corpus, 'expected.json')
    const log = []
    const engine = fileEngine(corpus, log)
    for (const q of QUERIES.concat(QUERIES.slice().reverse())) {
      if (expected[q].error) continue
      const res = await engine.search(q)
      assertSameResults(res.results.map(function (r) { return [r.ref, r.score] }), expected[q].results,
        corpus + ' shared engine "' + q + '"')
    }
    const m = readJson(corpus, 'search/manifest.json')
    if (m.shards.first.length > 30) {
      const loads = log.filter(function (n) { return n.indexOf('shard-') === 0 }).length
      assert.ok(loads > m.shards.first.length, corpus + ': evicted shards were loaded again (' + loads + ')')
    }
  }
})
