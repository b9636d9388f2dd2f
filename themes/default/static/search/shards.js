/* sitegen search, part 4 of 5: the engine -- shard loading, resolving query
 * words to indexed terms (prefixes, typos), scoring, the doc store.
 *
 * search/manifest.json lists the term-range shards (first term, hash, size),
 * the document-store chunks, the term-dictionary buckets (typos) and the
 * dates file.  For a query we parse it (query.js), fetch only the shards
 * holding its terms, resolve every word to indexed terms:
 *   - a word in the index: its term;
 *   - the word being typed (prefix): its term, the most frequent terms
 *     starting with it (within MAX_PREFIX_SHARDS shards), and, if the word
 *     itself is not a term, the terms it starts with (``diffusio`` ->
 *     ``diffus``, the stem of ``diffusion``);
 *   - word*: every term starting with the word or with its stem;
 *   - a word not in the index: the nearest terms of its term-dictionary
 *     bucket (edit distance 1, 2 for words of 8+ letters; words of 4+ letters) -- one extra fetch,
 *     plus the shards of the corrections;
 * then score (score.js: lunr's BM25 over the resolved terms, then the
 * reader's ranking).  lunr scores query . field vector / |query|, so the
 * postings of the query's terms alone give exactly the full index's scores.
 * createEngine(loader, {lunrIndex: true}) scores with lunr.Index.load on the
 * merged shards and lunr's own Index#query instead -- the reference the
 * tests hold scoreClauses to (with lunr.py, sitegen/searchquery.py).
 *
 * Typo distances and the phrase check live in match.js.
 * Python twin: sitegen/searchquery.py (same resolution, same order).
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var lunrLib = root && root.lunr ? root.lunr : (isNode ? require('lunr') : null)
  var parts = isNode
    ? { query: require('./query.js'), score: require('./score.js'), match: require('./match.js') }
    : root.SitegenSearchParts
  var api = factory(lunrLib, parts.query, parts.score, parts.match)
  if (isNode) module.exports = api
  else root.SitegenSearchParts.shards = api
})(typeof window !== 'undefined' ? window : this, function (lunr, Q, S, M) {
  'use strict'

  var MAX_FETCH_BYTES = 4000000   // raw shard bytes one query may load
  var MAX_SHARDS = 24             // shards kept in memory between queries
  var MAX_PREFIX_SHARDS = 2       // shards a typed word's prefix may load (per range: its own and the next)
  var MAX_COMPLETIONS = 30        // terms a typed word's prefix expands to (most frequent)
  var MAX_CORRECTIONS = 3         // terms a misspelt word is corrected to (1 if +required)
  var BACK_PREFIX = 4             // a typed word also matches terms it starts with, down to this
                                  // many fewer letters (the stem of the word being typed)

  var P = lunr.Query.presence

  function jsLess (a, b) { return a < b ? -1 : (a > b ? 1 : 0) }

  /* Index of the shard holding `term`: the last shard whose first term <= term. */
  function shardFor (firsts, term) {
    var lo = 0
    var hi = firsts.length - 1
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1
      if (firsts[mid] <= term) lo = mid; else hi = mid - 1
    }
    return lo
  }

  /* The shards that may hold terms starting with prefix (at most cap). */
  function shardRange (firsts, prefix, cap) {
    var k = shardFor(firsts, prefix)
    var out = [k]
    while (k + 1 < firsts.length && firsts[k + 1].slice(0, prefix.length) <= prefix &&
           (!cap || out.length < cap)) out.push(++k)
    return out
  }

  function shardName (manifest, i) {
    return 'shard-' + i + '-' + manifest.shards.hash[i] + '.json'
  }

  function docsName (manifest, chunk) {
    return 'docs-' + chunk + '-' + manifest.store.hash[chunk] + '.json'
  }

  function bucketKey (term) {
    return ('000' + term.charCodeAt(0).toString(16)).slice(-4)
  }

  function starPrefix (pattern) {
    return pattern.slice(0, pattern.indexOf('*'))
  }

  function isTrailingStar (pattern) {
    return pattern.indexOf('*') === pattern.length - 1
  }

  /* The terms a typed word may also match because it starts with them. */
  function backTerms (word) {
    var out = []
    for (var k = word.length - 1; k >= Math.max(Q.MIN_PREFIX, word.length - BACK_PREFIX); k--) out.push(word.slice(0, k))
    return out
  }

  /* The shards the groups need before resolution, in order. */
  function neededShards (manifest, groups) {
    var firsts = manifest.shards.first
    var want = {}
    var all = false
    function add (ids) { ids.forEach(function (k) { want[k] = true }) }
    groups.forEach(function (g) {
      if (g.kind === 'fuzzy') { all = true; return }
      if (g.kind === 'wildcard') {
        var p = starPrefix(g.term)
        add(shardRange(firsts, p))
        if (isTrailingStar(g.term) && Q.stem(p) !== p) add(shardRange(firsts, Q.stem(p)))
        return
      }
      add([shardFor(firsts, g.term)])
      if (g.prefix) {
        add(shardRange(firsts, g.word, MAX_PREFIX_SHARDS))
        if (g.term !== g.word) add(shardRange(firsts, g.term, MAX_PREFIX_SHARDS))
        backTerms(g.word).forEach(function (t) { add([shardFor(firsts, t)]) })
      }
    })
    var out = []
    for (var k = 0; k < firsts.length; k++) if (all || want[k]) out.push(k)
    return out
  }

  /* Resolve groups against the loaded vocabulary.  vocab: {has(term),
   * df(term), inShards(ids, prefix) -> loaded terms with the prefix}.
   * Returns [{..group, fieldIdx, terms, exact, missing}]. */
  function resolveGroups (manifest, groups, vocab) {
    var fields = manifest.fields
    var firsts = manifest.shards.first
    return groups.map(function (g) {
      var r = {}
      for (var key in g) r[key] = g[key]
      r.fieldIdx = g.fields.map(function (name) { return fields.indexOf(name) })
      r.exact = null
      r.missing = false
      var terms = []
      var seen = Object.create(null)
      function take (t) { if (!seen[t]) { seen[t] = true; terms.push(t) } }
      if (g.kind === 'fuzzy') {
        var all = vocab.inShards(null, '')
        var ts = { term: g.term, editDistance: g.editDistance }
        lunr.TokenSet.fromArray(all).intersect(lunr.TokenSet.fromClause(ts)).toArray().forEach(take)
      } else if (g.kind === 'wildcard') {
        var p = starPrefix(g.term)
        if (isTrailingStar(g.term)) {
          vocab.inShards(shardRange(firsts, p), p).forEach(take)
          var sp = Q.stem(p)
          if (sp !== p) vocab.inShards(shardRange(firsts, sp), sp).forEach(take)
        } else {
          var pool = vocab.inShards(shardRange(firsts, p), p)
          lunr.TokenSet.fromArray(pool).intersect(lunr.TokenSet.fromString(g.term)).toArray().forEach(take)
        }
      } else {
        if (vocab.has(g.term)) {
          take(g.term)
          r.exact = g.term
        }
        if (g.prefix) {
          var more = vocab.inShards(shardRange(firsts, g.word, MAX_PREFIX_SHARDS), g.word)
          if (g.term !== g.word) more = more.concat(vocab.inShards(shardRange(firsts, g.term, MAX_PREFIX_SHARDS), g.term))
          if (!r.exact) backTerms(g.word).forEach(function (t) { if (vocab.has(t)) more.push(t) })
          var uniq = []
          var u = Object.create(null)
          more.forEach(function (t) { if (!u[t] && t !== g.term) { u[t] = true; uniq.push(t) } })
          uniq.sort(function (a, b) { return (vocab.df(b) - vocab.df(a)) || jsLess(a, b) })
          uniq.slice(0, MAX_COMPLETIONS).forEach(take)
        }
        r.missing = !terms.length && g.presence !== P.PROHIBITED
      }
      r.terms = terms
      return r
    })
  }

  /* The lunr clauses that score the positive groups: one optional clause
   * per (group, term) -- for optional words exactly lunr's expansion of a
   * wildcard; presence is enforced by score.rankGroups. */
  function scoringClauses (resolved) {
    var out = []
    resolved.forEach(function (g) {
      if (g.presence === P.PROHIBITED) return
      g.terms.forEach(function (t) {
        out.push({
          term: t, fields: g.fields, boost: g.boost, usePipeline: false,
          wildcard: lunr.Query.wildcard.NONE, presence: P.OPTIONAL
        })
      })
    })
    return out
  }

  /* Merge decoded shards (in shard order) into a serialized lunr index.
   * Only terms passing `keep` (default: all) are taken.  Terms get
   * consecutive indices; each field vector gets the components of the taken
   * terms, in index order. */
  function mergeShards (manifest, shards, keep) {
    var fields = manifest.fields
    var inverted = []
    var vectors = Object.create(null)
    var keys = []
    var idx = 0
    for (var s = 0; s < shards.length; s++) {
      var entries = shards[s]
      for (var e = 0; e < entries.length; e++) {
        var entry = entries[e]
        if (keep && !keep(entry[0])) continue
        var posting = { _index: idx }
        for (var f = 0; f < fields.length; f++) {
          var byRef = {}
          var p = entry[f + 1]
          if (p.length) {
            var weights = p[0]
            var gaps = p[1]
            var codes = p[2]
            var ref = 0
            for (var g = 0; g < gaps.length; g++) {
              ref += gaps[g]
              byRef[ref] = {}
              var key = fields[f] + '/' + ref
              var vec = vectors[key]
              if (vec === undefined) {
                vec = vectors[key] = []
                keys.push(key)
              }
              vec.push(idx, weights[codes ? codes[g] : 0] / 1000)
            }
          }
          posting[fields[f]] = byRef
        }
        inverted.push([entry[0], posting])
        idx++
      }
    }
    return {
      version: manifest.lunr,
      fields: fields,
      fieldVectors: keys.map(function (k) { return [k, vectors[k]] }),
      invertedIndex: inverted,
      pipeline: manifest.pipeline
    }
  }

  function runQuery (index, clauses) {
    return index.query(function (q) {
      clauses.forEach(function (c) {
        var copy = {}
        for (var k in c) copy[k] = c[k]
        q.clause(copy)
      })
    })
  }

  /* [lo, hi) refs of the date filter from the dates file ([[date, first ref]]). */
  function refRange (days, n, after, before) {
    function firstFrom (date) {
      for (var i = 0; i < days.length; i++) if (days[i][0] >= date) return days[i][1]
      return n
    }
    return { lo: after === null ? 0 : firstFrom(after), hi: before === null ? n : firstFrom(before) }
  }

  // ------------------------------------------------------------ engine

  /* loader(name) -> Promise of the parsed JSON of search/<name>. */
  function createEngine (loader, opts) {
    var useLunr = !!(opts && opts.lunrIndex)
    var files = Object.create(null)      // manifest, doc chunks, term buckets, dates (small)
    var shards = Object.create(null)     // shard index -> entries
    var recent = []                      // loaded shard indices, most recent first
    var entries = new Map()              // term -> shard entry (loaded shards)
    var decoded = new Map()              // term -> [per-field postings]
    var manifestPromise = null

    function load (name) {
      if (!files[name]) {
        files[name] = loader(name).catch(function (err) {
          delete files[name]
          throw err
        })
      }
      return files[name]
    }

    function manifest () {
      if (!manifestPromise) {
        manifestPromise = load('manifest.json')
        manifestPromise.catch(function () { manifestPromise = null })
      }
      return manifestPromise
    }

    function loadShards (m, ids, pinned) {
      return Promise.all(ids.map(function (i) {
        if (shards[i]) return shards[i]
        return loader(shardName(m, i)).then(function (list) {
          if (!shards[i]) {
            shards[i] = list
            list.forEach(function (e) { entries.set(e[0], e) })
          }
          return list
        })
      })).then(function (lists) {
        // keep the shards of this query and the most recent others
        var keep = ids.concat(pinned || []).filter(function (k, i, all) { return all.indexOf(k) === i })
        recent = keep.concat(recent.filter(function (i) { return keep.indexOf(i) === -1 }))
        while (recent.length > Math.max(MAX_SHARDS, keep.length)) {
          var old = recent.pop()
          shards[old].forEach(function (e) {
            entries.delete(e[0])
            decoded.delete(e[0])
          })
          delete shards[old]
        }
        return lists
      })
    }

    function postings (term) {
      var p = decoded.get(term)
      if (p === undefined) {
        var e = entries.get(term)
        if (e === undefined) return undefined
        p = []
        for (var f = 1; f < e.length; f++) p.push(S.decodePostings(e[f]))
        decoded.set(term, p)
      }
      return p
    }

    var vocab = {
      has: function (t) { return entries.has(t) },
      df: function (t) {
        var e = entries.get(t)
        var n = 0
        for (var f = 1; f < e.length; f++) if (e[f].length) n += e[f][1].length
        return n
      },
      inShards: function (ids, prefix) {
        var out = []
        var list = ids || Object.keys(shards).map(Number).sort(function (a, b) { return a - b })
        list.forEach(function (i) {
          (shards[i] || []).forEach(function (e) {
            if (e[0].slice(0, prefix.length) === prefix) out.push(e[0])
          })
        })
        return out
      }
    }

    function checkBytes (m, ids) {
      var bytes = 0
      ids.forEach(function (i) { if (!shards[i]) bytes += m.shards.bytes[i] })
      if (bytes > MAX_FETCH_BYTES) {
        throw new Q.QueryError('That query would need too much of the index. ' +
          'Use a longer prefix before * or drop the ~ (fuzzy) part.')
      }
    }

    /* Typos: missing words -> corrections (one bucket fetch per first letter). */
    function correct (m, resolved, ids) {
      var missing = resolved.filter(function (g) { return g.missing && m.terms && m.terms[bucketKey(g.term)] })
      if (!missing.length) return Promise.resolve([])
      return Promise.all(missing.map(function (g) {
        var key = bucketKey(g.term)
        return load('terms-' + key + '-' + m.terms[key] + '.json')
      })).then(function (buckets) {
        var fixes = []
        var need = []
        missing.forEach(function (g, i) {
          var limit = g.presence === P.REQUIRED ? 1 : MAX_CORRECTIONS
          var terms = M.corrections(g.word, g.term, buckets[i], limit)
          if (!terms.length) return
          fixes.push([g, terms])
          terms.forEach(function (t) { need.push(shardFor(m.shards.first, t)) })
        })
        need = need.filter(function (k, i) { return need.indexOf(k) === i }).sort(function (a, b) { return a - b })
        return loadShards(m, need, ids).then(function () {
          return fixes.map(function (f) {
            f[0].terms = f[1].filter(function (t) { return entries.has(t) })
            f[0].corrected = f[0].terms.length > 0
            return { word: f[0].word, terms: f[0].terms }
          }).filter(function (c) { return c.terms.length })
        })
      })
    }

    /* The phrase check (null without phrases): fetches the positions twins
     * of the shards holding the phrases' terms -- one file per shard. */
    function phraseCheck (m, phrases, resolved) {
      if (!phrases.length) return Promise.resolve(null)
      var want = []
      phrases.forEach(function (ph) {
        ph.forEach(function (w) {
          resolved[w.group].terms.forEach(function (t) {
            var k = shardFor(m.shards.first, t)
            if (want.indexOf(k) === -1) want.push(k)
          })
        })
      })
      want.sort(function (a, b) { return a - b })
      return Promise.all(want.map(function (k) {
        return load('pos-' + k + '-' + m.shards.hash[k] + '.json').then(function (list) { return [k, list] })
      })).then(function (got) {
        var byTerm = new Map()
        got.forEach(function (kl) {
          var entries = shards[kl[0]]
          kl[1].forEach(function (fieldsPos, i) { byTerm.set(entries[i][0], fieldsPos) })
        })
        var cache = new Map()
        return M.phraseFilter(m, phrases, resolved, function (t) {
          var p = cache.get(t)
          if (!p) {
            var raw = byTerm.get(t)
            var post = postings(t)
            p = raw.map(function (seq, f) { return M.decodePositions(seq, post[f].refs) })
            cache.set(t, p)
          }
          return p
        })
      })
    }

    function baseScores (m, resolved, loadedIds) {
      var clauses = scoringClauses(resolved)
      if (!clauses.length) return null
      if (!useLunr) {
        var r = S.scoreClauses(m, clauses, postings, function () { return [] })
        return { scores: r.scores, termsFor: r.termsFor }
      }
      var keep = Object.create(null)
      clauses.forEach(function (c) { keep[c.term] = true })
      var lists = loadedIds.map(function (i) { return shards[i] })
      var index = lunr.Index.load(mergeShards(m, lists, function (t) { return keep[t] === true }))
      var scores = new Float64Array(m.docs)
      var byRef = Object.create(null)
      runQuery(index, clauses).forEach(function (res) {
        scores[+res.ref] = res.score
        byRef[res.ref] = Object.keys(res.matchData.metadata)
      })
      return { scores: scores, termsFor: function (ref) { return byRef[ref] || [] } }
    }

    /* -> Promise of {count, slice(from, to), results, termsFor(ref), hint,
     * empty, corrections: [{word, terms}]}.  opts: {typing, byDate}. */
    function search (queryString, sopts) {
      var typing = !!(sopts && sopts.typing)
      var byDate = !!(sopts && sopts.byDate)
      return manifest().then(function (m) {
        var parsed = Q.parseQuery(queryString, m.fields, { typing: typing })
        if (parsed.empty) {
          var none = S.ranked(new Int32Array(0), null, function () { return [] })
          none.hint = parsed.hint
          none.empty = true
          none.corrections = []
          none.clauses = []
          none.tierOf = function () { return 0 }
          return none
        }
        var ids = neededShards(m, parsed.groups)
        checkBytes(m, ids)
        var dates = (parsed.after !== null || parsed.before !== null) ? load('dates-' + m.dates + '.json') : null
        return Promise.all([loadShards(m, ids), dates]).then(function (got) {
          var resolved = resolveGroups(m, parsed.groups, vocab)
          return correct(m, resolved, ids).then(function (fixes) {
            var range = got[1] ? refRange(got[1], m.docs, parsed.after, parsed.before) : { lo: 0, hi: m.docs }
            return phraseCheck(m, parsed.phrases, resolved).then(function (keep) {
              return [fixes, range, keep]
            })
          }).then(function (state) {
            var fixes = state[0]
            var range = state[1]
            var loaded = Object.keys(shards).map(Number).sort(function (a, b) { return a - b })
            var out = S.rankGroups(m, resolved, postings, baseScores(m, resolved, loaded),
              { lo: range.lo, hi: range.hi, byDate: byDate, keep: state[2] })
            out.clauses = scoringClauses(resolved)
            out.hint = parsed.hint
            out.empty = false
            out.corrections = fixes
            return out
          })
        })
      })
    }

    /* -> Promise of [{title, url, date, snippet, shown}] for refs (shown: the date as pages show it) */
    function docs (refs) {
      return manifest().then(function (m) {
        var size = m.store.size
        return Promise.all(refs.map(function (ref) {
          var chunk = Math.floor(ref / size)
          return load(docsName(m, chunk)).then(function (rows) {
            var row = rows[ref - chunk * size]
            return { title: row[0], url: row[1], date: row[2], snippet: row[3], shown: row[4] }
          })
        }))
      })
    }

    return { manifest: manifest, search: search, docs: docs, load: load }
  }

  return {
    MAX_PREFIX_SHARDS: MAX_PREFIX_SHARDS,
    shardFor: shardFor,
    shardRange: shardRange,
    neededShards: neededShards,
    resolveGroups: resolveGroups,
    scoringClauses: scoringClauses,
    mergeShards: mergeShards,
    runQuery: runQuery,
    refRange: refRange,
    bucketKey: bucketKey,
    createEngine: createEngine
  }
})
