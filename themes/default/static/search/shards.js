/* sitegen search, part 5 of 6: the engine -- shard loading, resolving query
 * words to indexed terms (prefixes, typos), scoring, the doc store.
 *
 * search/manifest.json lists the segments (their statistics, shard counts and
 * document-store chunks), the shard directories and term-dictionary buckets
 * (typos) by first letter, and the dates file.  For a query we parse it
 * (query.js), fetch the shard directories of its words' first letters
 * (dirKeys; segments.js addDir), then only the shards holding its terms,
 * and resolve every word to indexed terms:
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
 * Typo distances and the phrase check live in match.js; where a term or a
 * document lives (segments, shard ranges, file names) in segments.js.
 * Python twin: sitegen/searchquery.py (same resolution, same order).
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var lunrLib = root && root.lunr ? root.lunr : (isNode ? require('lunr') : null)
  var parts = isNode
    ? { query: require('./query.js'), score: require('./score.js'), match: require('./match.js'), segments: require('./segments.js') }
    : root.SitegenSearchParts
  var api = factory(lunrLib, parts.query, parts.score, parts.match, parts.segments)
  if (isNode) module.exports = api
  else root.SitegenSearchParts.shards = api
})(typeof window !== 'undefined' ? window : this, function (lunr, Q, S, M, SG) {
  'use strict'

  var MAX_FETCH_BYTES = 4000000   // raw shard bytes one query may load
  var MAX_SHARDS = 64             // shards kept in memory between queries (all segments)
  var MAX_PREFIX_SHARDS = 2       // shards a typed word's prefix may load (per range: its own and the next)
  var MAX_COMPLETIONS = 30        // terms a typed word's prefix expands to (most frequent)
  var MAX_CORRECTIONS = 3         // terms a misspelt word is corrected to (1 if +required)
  var BACK_PREFIX = 4             // a typed word also matches terms it starts with, down to this
                                  // many fewer letters (the stem of the word being typed)

  var P = lunr.Query.presence

  var jsLess = SG.jsLess
  var shardFor = SG.shardFor
  var shardRange = SG.shardRange
  var layout = SG.layout
  var shardsFor = SG.shardsFor
  var shardsInRange = SG.shardsInRange
  var fileName = SG.fileName
  var shardName = SG.shardName
  var shardBytes = SG.shardBytes
  var docsName = SG.docsName
  var mergeShards = SG.mergeShards

  var bucketKey = SG.bucketKey
  var addDir = SG.addDir
  var allShards = SG.allShards

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
    var want = {}
    var all = false
    function add (ids) { ids.forEach(function (k) { want[k] = true }) }
    groups.forEach(function (g) {
      if (g.kind === 'fuzzy') { all = true; return }
      if (g.kind === 'wildcard') {
        var p = starPrefix(g.term)
        add(shardsInRange(manifest, p))
        if (isTrailingStar(g.term) && Q.stem(p) !== p) add(shardsInRange(manifest, Q.stem(p)))
        return
      }
      add(shardsFor(manifest, g.term))
      if (g.prefix) {
        add(shardsInRange(manifest, g.word, MAX_PREFIX_SHARDS))
        if (g.term !== g.word) add(shardsInRange(manifest, g.term, MAX_PREFIX_SHARDS))
        backTerms(g.word).forEach(function (t) { add(shardsFor(manifest, t)) })
      }
    })
    if (all) return allShards(manifest)
    return Object.keys(want).map(Number).sort(function (a, b) { return a - b })
  }

  /* The buckets whose shard directories the groups need (every bucket for a fuzzy word). */
  function dirKeys (manifest, groups) {
    var want = Object.create(null)
    var all = false
    function add (t) { if (t) want[bucketKey(t)] = true; else all = true }
    groups.forEach(function (g) {
      if (g.kind === 'fuzzy') { all = true; return }
      if (g.kind === 'wildcard') {
        add(starPrefix(g.term))
        add(Q.stem(starPrefix(g.term)))
        return
      }
      add(g.term)
      if (g.prefix) {
        add(g.word)
        backTerms(g.word).forEach(add)
      }
    })
    return Object.keys(manifest.dirs || {}).sort().filter(function (k) { return all || want[k] })
  }

  /* Resolve groups against the loaded vocabulary.  vocab: {has(term),
   * df(term), inShards(ids, prefix) -> loaded terms with the prefix}.
   * Returns [{..group, fieldIdx, terms, exact, missing}]. */
  function resolveGroups (manifest, groups, vocab) {
    var fields = manifest.fields
    function range (prefix, cap) { return shardsInRange(manifest, prefix, cap) }
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
          vocab.inShards(range(p), p).forEach(take)
          var sp = Q.stem(p)
          if (sp !== p) vocab.inShards(range(sp), sp).forEach(take)
        } else {
          var pool = vocab.inShards(range(p), p)
          lunr.TokenSet.fromArray(pool).intersect(lunr.TokenSet.fromString(g.term)).toArray().forEach(take)
        }
      } else {
        if (vocab.has(g.term)) {
          take(g.term)
          r.exact = g.term
        }
        if (g.prefix) {
          var more = vocab.inShards(range(g.word, MAX_PREFIX_SHARDS), g.word)
          if (g.term !== g.word) more = more.concat(vocab.inShards(range(g.term, MAX_PREFIX_SHARDS), g.term))
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
    var shards = Object.create(null)     // shard id -> entries
    var recent = []                      // loaded shard ids, most recent first
    var entries = new Map()              // term -> {segment index: shard entry} (loaded shards)
    var decoded = new Map()              // term -> [per-field postings, weighed]
    var manifestPromise = null
    var M0 = null                        // the manifest, once loaded

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
        manifestPromise = load('manifest.json').then(function (m) {
          M0 = m
          return m
        })
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
            var s = layout(m).seg[i]
            list.forEach(function (e) {
              var bySeg = entries.get(e[0])
              if (!bySeg) entries.set(e[0], bySeg = {})
              bySeg[s] = e
            })
          }
          return list
        })
      })).then(function (lists) {
        // keep the shards of this query and the most recent others
        var keep = ids.concat(pinned || []).filter(function (k, i, all) { return all.indexOf(k) === i })
        recent = keep.concat(recent.filter(function (i) { return keep.indexOf(i) === -1 }))
        while (recent.length > Math.max(MAX_SHARDS, keep.length)) {
          var old = recent.pop()
          var s = layout(m).seg[old]
          shards[old].forEach(function (e) {
            var bySeg = entries.get(e[0])
            delete bySeg[s]
            if (!Object.keys(bySeg).length) entries.delete(e[0])
            decoded.delete(e[0])
          })
          delete shards[old]
        }
        return lists
      })
    }

    /* A term is visible only when the shard that would hold it is loaded in
     * every segment: then its postings and document frequency are the whole
     * archive's. */
    function has (term) {
      return entries.has(term) && shardsFor(M0, term).every(function (id) { return shards[id] !== undefined })
    }

    function segEntries (term) {
      var bySeg = entries.get(term)
      return Object.keys(bySeg).map(Number).sort(function (a, b) { return a - b })
        .map(function (s) { return [s, bySeg[s]] })
    }

    function postings (term) {
      var p = decoded.get(term)
      if (p === undefined) {
        if (!has(term)) return undefined
        p = S.weigh(M0, segEntries(term))
        decoded.set(term, p)
      }
      return p
    }

    var vocab = {
      has: has,
      df: function (t) {
        var n = 0
        segEntries(t).forEach(function (se) {
          for (var f = 1; f < se[1].length; f++) if (se[1][f].length) n += se[1][f][0].length
        })
        return n
      },
      inShards: function (ids, prefix) {
        var seen = Object.create(null)
        var out = []
        var list = ids || Object.keys(shards).map(Number)
        list.forEach(function (i) {
          (shards[i] || []).forEach(function (e) {
            if (!seen[e[0]] && e[0].slice(0, prefix.length) === prefix) {
              seen[e[0]] = true
              if (has(e[0])) out.push(e[0])
            }
          })
        })
        return out.sort(jsLess)
      }
    }

    function checkBytes (m, ids) {
      var bytes = 0
      ids.forEach(function (i) { if (!shards[i]) bytes += shardBytes(m, i) })
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
          terms.forEach(function (t) { need = need.concat(shardsFor(m, t)) })
        })
        need = need.filter(function (k, i) { return need.indexOf(k) === i }).sort(function (a, b) { return a - b })
        return loadShards(m, need, ids).then(function () {
          return fixes.map(function (f) {
            f[0].terms = f[1].filter(has)
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
            shardsFor(m, t).forEach(function (k) { if (want.indexOf(k) === -1) want.push(k) })
          })
        })
      })
      want.sort(function (a, b) { return a - b })
      return Promise.all(want.map(function (k) {
        return load(fileName(m, 'pos', k)).then(function (list) { return [k, list] })
      })).then(function (got) {
        var byTerm = new Map()          // term -> [[segment index, positions per field, entry]]
        got.forEach(function (kl) {
          var list = shards[kl[0]]
          var s = layout(m).seg[kl[0]]
          kl[1].forEach(function (fieldsPos, i) {
            var t = list[i][0]
            if (!byTerm.has(t)) byTerm.set(t, [])
            byTerm.get(t).push([s, fieldsPos, list[i]])
          })
        })
        var cache = new Map()
        return M.phraseFilter(m, phrases, resolved, function (t) {
          var p = cache.get(t)
          if (!p) {
            p = m.fields.map(function () { return new Map() })
            ;(byTerm.get(t) || []).forEach(function (x) {
              var first = m.segments[x[0]].first
              x[1].forEach(function (seq, f) {
                var local = S.decodeField(x[2][f + 1]).refs
                var refs = Array.prototype.map.call(local, function (r) { return first + r })
                M.decodePositions(seq, refs).forEach(function (v, ref) { p[f].set(ref, v) })
              })
            })
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
      var loaded = {}
      loadedIds.forEach(function (i) { loaded[i] = shards[i] })
      var index = lunr.Index.load(mergeShards(m, loaded, function (t) { return keep[t] === true && has(t) }))
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
        var ids = null
        var dates = (parsed.after !== null || parsed.before !== null) ? load('dates-' + m.dates + '.json') : null
        return Promise.all(dirKeys(m, parsed.groups).map(function (k) {
          return load('dir-' + k + '-' + m.dirs[k] + '.json').then(function (d) { addDir(m, k, d) })
        })).then(function () {
          ids = neededShards(m, parsed.groups)
          checkBytes(m, ids)
          return Promise.all([loadShards(m, ids), dates])
        }).then(function (got) {
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
        return Promise.all(refs.map(function (ref) {
          var where = docsName(m, ref)
          return load(where[0]).then(function (rows) {
            var row = rows[where[1]]
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
    shardsFor: shardsFor,
    shardsInRange: shardsInRange,
    shardName: shardName,
    layout: layout,
    neededShards: neededShards,
    dirKeys: dirKeys,
    resolveGroups: resolveGroups,
    scoringClauses: scoringClauses,
    mergeShards: mergeShards,
    runQuery: runQuery,
    refRange: refRange,
    bucketKey: bucketKey,
    createEngine: createEngine
  }
})
