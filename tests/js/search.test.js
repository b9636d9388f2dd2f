'use strict'
// node --test tests/js/
//
// Loads indexes built by sitegen (Python; tests/js/build_fixture.py) into the
// real themes/default/static/search.js (+ static/search/*.js) and lunr.js 2.3.9
// and checks, for every query of queries.json (plain, typed, sorted by date):
// the same ranking (refs, tiers, scores), corrections, hints and parsed groups
// as sitegen.searchquery (Python, scoring with lunr.py 0.8.0); the same through
// lunr.js's own Index#query on the merged shards; the same scores from lunr.js
// on the unsharded index; and only the needed shards loaded.  Also folding
// (search.js == sitegen.fold) over tricky strings.
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

/* The manifest with every shard directory registered (core.addDir), for the pure functions. */
function manifestWithDirs (corpus) {
  const m = readJson(corpus, 'search/manifest.json')
  for (const key of Object.keys(m.dirs)) core.addDir(m, key, readJson(corpus, 'search/dir-' + key + '-' + m.dirs[key] + '.json'))
  return m
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

function specOf (spec) {
  return typeof spec === 'string' ? { q: spec, typing: false, byDate: false }
    : { q: spec.q, typing: !!spec.typing, byDate: !!spec.byDate }
}

function keyOf (s) {
  return JSON.stringify([s.q, s.typing, s.byDate])
}

/* Same refs in the same order with the same tiers; scores within TOL; two
 * results may swap only when their tiers are equal and scores within TOL. */
function assertSameRanking (actual, expected, what) {
  assert.equal(actual.length, expected.length, what + ': number of results')
  const exp = new Map(expected.map(function (r) { return [r[0], r] }))
  for (let i = 0; i < actual.length; i++) {
    const [ref, score, tier] = actual[i]
    const e = exp.get(ref)
    assert.ok(e, what + ': unexpected ref ' + ref)
    assert.ok(Math.abs(e[1] - score) <= TOL, what + ': ref ' + ref + ' score ' + score + ' != ' + e[1])
    if (tier !== undefined) assert.equal(tier, e[2], what + ': ref ' + ref + ' tier')
    if (ref !== expected[i][0]) {
      const o = expected[i]
      assert.ok(o[2] === e[2] && Math.abs(o[1] - score) <= TOL, what + ': order differs at ' + i)
    }
  }
}

function rows (res) {
  return res.results.map(function (r) { return [r.ref, r.score, res.tierOf(r.ref)] })
}

for (const corpus of CORPORA) {
  test('search.js == sitegen.searchquery (lunr.py) over the query suite: ' + corpus, async function () {
    const expected = readJson(corpus, 'expected.json')
    const manifest = manifestWithDirs(corpus)
    const full = lunr.Index.load(readJson(corpus, 'full.json'))
    let nonEmpty = 0
    for (const spec of QUERIES.map(specOf)) {
      const key = keyOf(spec)
      const exp = expected[key]
      const q = spec.q
      assert.ok(exp, 'no expectation for ' + key)
      const log = []
      let res = null
      let error = null
      try {
        res = await fileEngine(corpus, log).search(q, spec)
      } catch (e) {
        error = e
      }
      if (exp.error) {
        assert.ok(error instanceof core.QueryError, key + ': expected a QueryError, got ' + error)
        continue
      }
      assert.equal(error, null, key + ': ' + (error && error.stack))
      assertSameRanking(rows(res), exp.results, corpus + ' ' + key + ' vs Python')
      assert.deepEqual(res.corrections, exp.corrections, key + ': corrections')
      assert.equal(res.hint, exp.hint, key + ': hint')
      assert.equal(res.empty, exp.empty, key + ': empty')
      const parsed = core.parseQuery(q, manifest.fields, { typing: spec.typing })
      assert.deepEqual(parsed.groups.map(function (g) {
        return [g.word, g.term, g.kind, g.prefix, g.fields, g.presence, g.boost, g.editDistance]
      }), exp.groups, key + ': parsed groups')
      assert.deepEqual(parsed.phrases.map(function (ph) { return ph.map(function (w) { return [w.group, w.offset] }) }),
        exp.phrases, key + ': phrases')
      if (res.count) nonEmpty++

      // the reference path: merged shards -> lunr.Index.load -> lunr's query
      const viaLunr = await fileEngine(corpus, null, { lunrIndex: true }).search(q, spec)
      assertSameRanking(rows(viaLunr), exp.results, corpus + ' ' + key + ' lunr.Index path vs Python')
      for (const r of res.results.slice(0, 10)) {
        assert.deepEqual(res.termsFor(r.ref).slice().sort(), viaLunr.termsFor(String(r.ref)).slice().sort(),
          key + ': matched terms')
      }

      // the same scoring clauses on the unsharded index, in lunr.js
      if (res.clauses.length) {
        const fullScores = new Map(core.runQuery(full, res.clauses).map(function (r) { return [+r.ref, r.score] }))
        for (const r of res.results) {
          if (r.score) assert.ok(Math.abs(fullScores.get(r.ref) - r.score) <= TOL, key + ': unsharded lunr.js score of ' + r.ref)
        }
      }

      // only the shards the query needs were loaded (plus those of typo corrections)
      const shards = log.filter(function (n) { return n.indexOf('shard-') === 0 })
      const want = core.neededShards(manifest, parsed.groups)
      if (!res.corrections.length) assert.equal(shards.length, want.length, key + ': shards loaded')
      const buckets = log.filter(function (n) { return n.indexOf('terms-') === 0 })
      assert.ok(buckets.length <= parsed.groups.length, key + ': at most one term bucket per word')
      const dirs = log.filter(function (n) { return n.indexOf('dir-') === 0 })
      if (!parsed.groups.some(function (g) { return g.kind === 'fuzzy' })) {
        assert.ok(dirs.length <= 2 * parsed.groups.length, key + ': the shard directories of its words only')
      }
      if (core.layout(manifest).seg.length > 10 && /^[a-z]+$/.test(q) && !spec.typing && !res.corrections.length) {
        assert.ok(shards.length <= manifest.segments.length, key + ': a one-word query loads one shard per segment')
      }
    }
    assert.ok(nonEmpty >= 60, 'at least 60 queries with results, got ' + nonEmpty)
  })
}

test('folding: search.js == sitegen.fold over tricky strings', function () {
  const cases = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'fold.json'), 'utf8'))
  assert.ok(cases.length >= 20)
  for (const [text, folded] of cases) {
    assert.equal(core.fold(text), folded, JSON.stringify(text))
    assert.equal(core.fold(folded), folded, 'idempotent: ' + JSON.stringify(text))
  }
  assert.equal(core.fold('T\u00dcLU'), 'tulu')
  assert.equal(core.fold('na\u00efve'), 'naive')
})

test('sharded corpora really have many shards, in several segments', function () {
  for (const corpus of CORPORA) {
    const m = manifestWithDirs(corpus)
    assert.ok(m.segments.length >= 2, corpus + ': ' + m.segments.length + ' segments')
    if (corpus === 'dumps') continue
    assert.ok(core.layout(m).seg.length >= 20, corpus + ': ' + core.layout(m).seg.length + ' shards')
  }
})

test('weights computed at query time round like Python, ties to even on the exact binary value', function () {
  assert.equal(core.round3Int(0.0625), 62)           // exactly 62.5 in binary: half-even
  assert.equal(core.round3Int(0.1875), 188)
  assert.equal(core.round3Int(2.675), 2675)          // 2.67499999... in binary: not a tie
  assert.equal(core.round3Int(1.0005), 1000)         // 1.000499999... in binary
  assert.equal(core.round3Int(0.0005), 1)            // 0.000500000000000000010...
  assert.equal(core.round3Int(4.942), 4942)
  const cases = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'round3.json'), 'utf8'))
  assert.ok(cases.length > 1000)
  for (const [x, want] of cases) assert.equal(core.round3Int(x), want, String(x))
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

test('wildcards load exactly the shard range of their prefix; typed words at most MAX_PREFIX_SHARDS more per range', function () {
  // segment a's separators: '', 'b', 'ca', 'cb', 'cc', 'd' (ids 0-5); segment b's: '', 'cb' (ids 6, 7);
  // b has no terms in "b" or "d"
  const m = {
    segments: [{ name: 'a', first: 0, shards: 6 }, { name: 'b', first: 10, shards: 2 }],
    dirs: { '0061': 'x', '0062': 'x', '0063': 'x', '0064': 'x', '007a': 'x' }
  }
  const h = function (n) { return Array(n).fill('00000000') }
  const one = function (n) { return Array(n).fill(1) }
  core.addDir(m, '0061', [[0, [], h(1), one(1)], [0, [], h(1), one(1)]])
  core.addDir(m, '0062', [[0, ['b'], h(2), one(2)], 0])
  core.addDir(m, '0063', [[1, ['ca', 'cb', 'cc'], h(4), one(4)], [0, ['cb'], h(2), one(2)]])
  core.addDir(m, '0064', [[4, ['d'], h(2), one(2)], 0])
  core.addDir(m, '007a', [[5, [], h(1), one(1)], [1, [], h(1), one(1)]])
  const group = function (term, extra) {
    return Object.assign({ word: term, term: term, kind: term.indexOf('*') === -1 ? 'term' : 'wildcard', prefix: false }, extra || {})
  }
  assert.deepEqual(core.neededShards(m, [group('c*')]), [1, 2, 3, 4, 6, 7])
  assert.deepEqual(core.neededShards(m, [group('cb*')]), [3, 7])
  assert.deepEqual(core.neededShards(m, [group('cbz*')]), [3, 7])
  assert.deepEqual(core.neededShards(m, [group('a*')]), [0, 6])
  assert.deepEqual(core.neededShards(m, [group('z*')]), [5, 7])
  assert.deepEqual(core.neededShards(m, [group('cat')]), [2, 6])
  assert.deepEqual(core.neededShards(m, [group('cat', { kind: 'fuzzy', editDistance: 1 })]), [0, 1, 2, 3, 4, 5, 6, 7])
  assert.equal(core.MAX_PREFIX_SHARDS, 2)
  assert.deepEqual(core.neededShards(m, [group('c', { prefix: true })]), [1, 2, 6, 7])
  assert.deepEqual(core.neededShards(m, [group('cb', { prefix: true, term: 'ca' })]), [2, 3, 6, 7])
  assert.deepEqual(core.neededShards(m, [group('b*')]), [1])
  assert.deepEqual(core.neededShards(m, [group('q')]), [], 'no term of the archive starts with q')
})

test('edit distance: transpositions count one, the bound cuts off', function () {
  assert.equal(core.editDistance('diffus', 'difus', 2), 1)
  assert.equal(core.editDistance('transform', 'transfrom', 2), 1)
  assert.equal(core.editDistance('abc', 'xyz', 1), 2)
  assert.deepEqual(core.corrections('difusion', 'difus', [['dfus', 'diffus'], ['difu']], 3), ['difu', 'dfus', 'diffus'], 'most frequent class first, then JS order')
  assert.deepEqual(core.corrections('vid', 'vid', [['via']], 3), [], 'words under 4 letters are not corrected')
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
    for (const spec of QUERIES.concat(QUERIES.slice().reverse()).map(specOf)) {
      const exp = expected[keyOf(spec)]
      if (exp.error) continue
      const res = await engine.search(spec.q, spec)
      assertSameRanking(rows(res), exp.results, corpus + ' shared engine ' + keyOf(spec))
    }
    const m = manifestWithDirs(corpus)
    const total = core.layout(m).seg.length
    if (total > 64) {
      const loads = log.filter(function (n) { return n.indexOf('shard-') === 0 }).length
      assert.ok(loads > total, corpus + ': evicted shards were loaded again (' + loads + ')')
    }
  }
})
