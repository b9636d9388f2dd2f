/* sitegen search: a sharded, prebuilt lunr 2.3.9 index, loaded on demand.
 *
 * search/manifest.json lists the term-range shards (first term, hash, size)
 * and the document-store chunks.  For a query we parse it with lunr's
 * QueryParser, stem its terms with lunr's pipeline, fetch only the shards
 * holding them (a range of shards for a trailing wildcard), score, then fetch
 * the doc-store chunks of the results we show.  lunr scores query . field
 * vector / |query|, so the postings of the query's terms alone give exactly
 * the full index's scores.  Scoring is scoreClauses (lunr's Index#query on
 * typed arrays: milliseconds where lunr takes a second for a term in most of
 * 50,000 papers); createEngine(loader, {lunrIndex: true}) instead merges the
 * shards into a serialized index for lunr.Index.load and lunr's own query --
 * the reference tests/js/search.test.js holds both to, with lunr.py.
 *
 * Offline builds (data-offline="1", file://) cannot fetch: every data file is
 * also a .js file that fills window.SITEGEN_SEARCH_DATA; we load those with
 * <script src> elements.  No inline script, no innerHTML of data: titles and
 * snippets become text nodes, highlights are <mark> elements.
 *
 * Plain ES2017, no build step.  In Node (tests) it exports its pure core.
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var lunrLib = root && root.lunr ? root.lunr : (isNode ? require('lunr') : null)
  var api = factory(lunrLib, root)
  if (isNode) {
    module.exports = api
  } else if (root && root.document && lunrLib) {
    root.SitegenSearch = api
    api.init(root.document)
  }
})(typeof window !== 'undefined' ? window : this, function (lunr, root) {
  'use strict'

  var DATA_GLOBAL = 'SITEGEN_SEARCH_DATA'
  var MAX_FETCH_BYTES = 4000000   // raw shard bytes one query may load
  var MAX_SHARDS = 24             // shards kept in memory between queries
  var DROPDOWN_RESULTS = 8
  var PAGE_SIZE = 20
  var DEBOUNCE_MS = 80
  var SYNTAX_HELP = 'Use plain words; title:word searches titles only, +word requires a word, ' +
    '-word excludes it, word* matches a prefix.'

  // ------------------------------------------------------------ query core

  function trimWord (s) {   // lunr.trimmer
    return s.replace(/^\W+/, '').replace(/\W+$/, '')
  }

  function isStopWord (s) {
    return lunr.stopWordFilter(new lunr.Token(s)) === undefined
  }

  function stem (s) {
    return lunr.stemmer(new lunr.Token(s)).toString()
  }

  function QueryError (message) {
    this.name = 'QueryError'
    this.message = message
  }
  QueryError.prototype = Object.create(Error.prototype)
  QueryError.prototype.constructor = QueryError

  /* Parse a query string into normalized lunr clauses.  Plain terms are
   * trimmed of punctuation (like the indexing pipeline does) and stop words
   * are dropped (they are not in the index).  Returns {clauses, hint}; a
   * syntax error falls back to the plain words of the query with a hint. */
  function parseQuery (queryString, fields) {
    var hint = null
    var query = new lunr.Query(fields)
    try {
      new lunr.QueryParser(queryString, query).parse()
    } catch (e) {
      if (!(e instanceof lunr.QueryParseError)) throw e
      hint = 'Couldn\u2019t read that as a query (' + e.message + '), so special characters were ignored. ' + SYNTAX_HELP
      query = new lunr.Query(fields)
      var plain = String(queryString).replace(/[:^~+*\\]/g, ' ').replace(/(^|\s)-+/g, '$1')
      try {
        new lunr.QueryParser(plain, query).parse()
      } catch (e2) {
        query = new lunr.Query(fields)
      }
    }
    var clauses = []
    for (var i = 0; i < query.clauses.length; i++) {
      var c = query.clauses[i]
      if (c.term.indexOf('*') !== -1) {
        var lead = c.term.replace(/^[^A-Za-z0-9_*]+/, '')
        if (lead === '' || lead.charAt(0) === '*') {
          throw new QueryError('Searches can\u2019t start with * \u2014 put a few letters first, like diffus*.')
        }
        c.term = lead
      } else {
        var t = trimWord(c.term)
        if (t === '' || isStopWord(t)) continue
        c.term = t
      }
      clauses.push(c)
    }
    return { clauses: clauses, hint: hint }
  }

  function isNegated (clauses) {
    for (var i = 0; i < clauses.length; i++) {
      if (clauses[i].presence !== lunr.Query.presence.PROHIBITED) return false
    }
    return clauses.length > 0
  }

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

  /* What a list of clauses needs from the index: {exact: {term: true},
   * prefixes: [...], all: bool} -- exact (stemmed) terms, wildcard prefixes,
   * and whether a fuzzy (~) clause needs every term. */
  function neededTerms (clauses) {
    var need = { exact: Object.create(null), prefixes: [], all: false }
    clauses.forEach(function (c) {
      if (c.editDistance) { need.all = true; return }
      var star = c.term.indexOf('*')
      if (star === -1) need.exact[c.usePipeline ? stem(c.term) : c.term] = true
      else need.prefixes.push(c.term.slice(0, star))
    })
    return need
  }

  function termFilter (need) {
    if (need.all) return null
    return function (term) {
      if (need.exact[term] === true) return true
      for (var i = 0; i < need.prefixes.length; i++) {
        if (term.slice(0, need.prefixes[i].length) === need.prefixes[i]) return true
      }
      return false
    }
  }

  /* The shard indices a list of clauses needs, in order. */
  function neededShards (manifest, clauses) {
    var firsts = manifest.shards.first
    var need = neededTerms(clauses)
    var want = {}
    Object.keys(need.exact).forEach(function (t) { want[shardFor(firsts, t)] = true })
    need.prefixes.forEach(function (prefix) {
      var k = shardFor(firsts, prefix)
      want[k] = true
      while (k + 1 < firsts.length && firsts[k + 1].slice(0, prefix.length) <= prefix) want[++k] = true
    })
    var out = []
    for (var k = 0; k < firsts.length; k++) if (need.all || want[k]) out.push(k)
    return out
  }

  function shardName (manifest, i) {
    return 'shard-' + i + '-' + manifest.shards.hash[i] + '.json'
  }

  function docsName (manifest, chunk) {
    return 'docs-' + chunk + '-' + manifest.store.hash[chunk] + '.json'
  }

  /* Merge decoded shards (in shard order) into a serialized lunr index.
   * Only terms passing `keep` (default: all) are taken: a query only ever
   * looks up its own terms, its wildcard expansions, or (fuzzy) everything.
   * Terms get consecutive indices; each field vector gets the components of
   * the taken terms, in index order.  allRefs adds an (empty) field vector
   * for every document, which lunr needs for purely negated queries. */
  function mergeShards (manifest, shards, allRefs, keep) {
    var fields = manifest.fields
    var inverted = []
    var vectors = Object.create(null)
    var keys = []
    var idx = 0
    if (allRefs) {
      for (var d = 0; d < manifest.docs; d++) {
        for (var f0 = 0; f0 < fields.length; f0++) {
          var k0 = fields[f0] + '/' + d
          vectors[k0] = []
          keys.push(k0)
        }
      }
    }
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

  // ------------------------------------------------------------ scoring

  /* Decode one field's postings of a shard entry: {refs: Int32Array
   * (ascending), w: Float64Array} -- the field-vector components lunr would
   * load for this term. */
  function decodePostings (p) {
    if (!p.length) return { refs: new Int32Array(0), w: new Float64Array(0) }
    var weights = p[0]
    var gaps = p[1]
    var codes = p[2]
    var n = gaps.length
    var refs = new Int32Array(n)
    var w = new Float64Array(n)
    var ref = 0
    for (var i = 0; i < n; i++) {
      ref += gaps[i]
      refs[i] = ref
      w[i] = weights[codes ? codes[i] : 0] / 1000
    }
    return { refs: refs, w: w }
  }

  function hasRef (refs, ref) {
    var lo = 0
    var hi = refs.length - 1
    while (lo <= hi) {
      var mid = (lo + hi) >> 1
      if (refs[mid] === ref) return true
      if (refs[mid] < ref) lo = mid + 1; else hi = mid - 1
    }
    return false
  }

  /* lunr 2.3.9's Index#query, computed directly on postings.
   *
   * `postings(term)` gives the decoded per-field postings of a loaded term
   * (or undefined), `candidates(prefix)` the sorted loaded terms starting
   * with prefix ('' = all).  Same clause semantics as lunr (pipeline,
   * token-set expansion with lunr.TokenSet, required / prohibited per field,
   * query vectors with summed boosts, score = sum over matched fields of
   * query . field vector / |query|); dot products are summed in term order,
   * as lunr does with the merged index.  lunr's Index#query costs ~10 us per
   * matching field (MatchData objects, string field refs): over a second
   * for a term in most of 50,000 papers; this takes milliseconds.  Ties are
   * ordered by ref (lunr keeps insertion order).  Exactness is tested
   * against lunr.js and lunr.py (tests/js/search.test.js). */
  function scoreClauses (manifest, clauses, postings, candidates) {
    var fields = manifest.fields
    var n = manifest.docs
    var nf = fields.length
    var P = lunr.Query.presence
    var COMPLETE = 'complete'
    var qv = []
    var matched = []
    var required = []
    var prohibited = []
    var pairs = []          // [term, field index] that collect matches
    var seenPair = Object.create(null)
    for (var f = 0; f < nf; f++) {
      qv.push(new Map())
      matched.push(null)
      required.push(undefined)
      prohibited.push(null)
    }
    function flags () { return new Uint8Array(n) }
    function mark (set, refs) { for (var i = 0; i < refs.length; i++) set[refs[i]] = 1 }

    clauses.forEach(function (clause) {
      var fieldIdx = clause.fields.map(function (name) { return fields.indexOf(name) })
      var term = clause.usePipeline ? stem(clause.term) : clause.term
      var expanded
      if (clause.editDistance || term.indexOf('*') !== -1) {
        var tsClause = { term: term }
        if ('editDistance' in clause) tsClause.editDistance = clause.editDistance
        var star = term.indexOf('*')
        var pool = candidates(clause.editDistance ? '' : term.slice(0, star))
        expanded = lunr.TokenSet.fromArray(pool).intersect(lunr.TokenSet.fromClause(tsClause)).toArray()
      } else {
        expanded = postings(term) ? [term] : []
      }
      var clauseMatches = clause.presence === P.REQUIRED ? flags() : null
      if (!expanded.length && clause.presence === P.REQUIRED) {
        fieldIdx.forEach(function (k) { required[k] = flags() })   // empty
        return
      }
      expanded.forEach(function (t) {
        var post = postings(t)
        fieldIdx.forEach(function (k) {
          var refs = post[k].refs
          if (clause.presence === P.REQUIRED) {
            mark(clauseMatches, refs)
            if (required[k] === undefined) required[k] = COMPLETE
          }
          if (clause.presence === P.PROHIBITED) {
            if (!prohibited[k]) prohibited[k] = flags()
            mark(prohibited[k], refs)
            return
          }
          qv[k].set(t, (qv[k].get(t) || 0) + clause.boost)
          var key = t + '/' + k
          if (seenPair[key]) return
          seenPair[key] = true
          pairs.push([t, k])
          if (!matched[k]) matched[k] = flags()
          mark(matched[k], refs)
        })
      })
      if (clause.presence === P.REQUIRED) {
        fieldIdx.forEach(function (k) {
          if (required[k] === COMPLETE) {
            required[k] = clauseMatches.slice()
          } else {
            var r = required[k]
            for (var d = 0; d < n; d++) r[d] &= clauseMatches[d]
          }
        })
      }
    })

    var allRequired = null
    var allProhibited = flags()
    for (var k = 0; k < nf; k++) {
      if (required[k] !== undefined && required[k] !== COMPLETE) {
        if (!allRequired) allRequired = required[k].slice()
        else for (var d = 0; d < n; d++) allRequired[d] &= required[k][d]
      }
      if (prohibited[k]) for (var d2 = 0; d2 < n; d2++) allProhibited[d2] |= prohibited[k][d2]
    }

    var negated = clauses.every(function (c) { return c.presence === P.PROHIBITED })
    var acc = []
    var mag = []
    for (var k2 = 0; k2 < nf; k2++) {
      var terms = Array.from(qv[k2].keys()).sort()
      var sum = 0
      var a = new Float64Array(n)
      terms.forEach(function (t) {
        var q = qv[k2].get(t)
        sum += q * q
        var fp = postings(t)[k2]
        for (var i = 0; i < fp.refs.length; i++) a[fp.refs[i]] += q * fp.w[i]
      })
      acc.push(a)
      mag.push(Math.sqrt(sum))
    }

    var hits = new Int32Array(n)
    var scores = new Float64Array(n)
    var count = 0
    for (var doc = 0; doc < n; doc++) {
      var any = negated
      var score = 0
      for (var k3 = 0; k3 < nf; k3++) {
        if (negated || (matched[k3] && matched[k3][doc])) {
          any = true
          score += (acc[k3][doc] / mag[k3]) || 0
        }
      }
      if (!any || allProhibited[doc] || (allRequired && !allRequired[doc])) continue
      hits[count++] = doc
      scores[doc] = score
    }
    return ranked(hits.subarray(0, count), scores, function (ref) {
      var out = []
      pairs.forEach(function (p) {
        if (out.indexOf(p[0]) === -1 && hasRef(postings(p[0])[p[1]].refs, ref)) out.push(p[0])
      })
      return out
    })
  }

  /* Results ranked by score (then ref), sorted lazily: showing the top 8 of
   * 50,000 hits needs a selection, not a full sort.
   *   count, slice(from, to) -> [{ref, score}], results (all, sorted), termsFor(ref) */
  function ranked (docs, scores, termsFor) {
    var sorted = 0          // docs[0, sorted) are the best, in order
    function cmp (a, b) { return (scores[b] - scores[a]) || (a - b) }
    function ensure (k) {
      k = Math.min(k, docs.length)
      if (k <= sorted) return
      if (k * 8 >= docs.length) {
        docs.subarray(sorted).sort(cmp)
        sorted = docs.length
        return
      }
      select(docs, sorted, docs.length - 1, k - 1, cmp)
      docs.subarray(sorted, k).sort(cmp)
      sorted = k
    }
    function slice (from, to) {
      to = Math.min(to, docs.length)
      ensure(to)
      var out = []
      for (var i = from; i < to; i++) out.push({ ref: docs[i], score: scores[docs[i]] })
      return out
    }
    return {
      count: docs.length,
      slice: slice,
      get results () { return slice(0, docs.length) },
      termsFor: termsFor
    }
  }

  /* Quickselect: reorder a[lo..hi] so that a[k] is where a full sort by cmp
   * would put it, with better elements before and worse after. */
  function select (a, lo, hi, k, cmp) {
    while (hi > lo) {
      var pivot = a[(lo + hi) >> 1]
      var i = lo
      var j = hi
      while (i <= j) {
        while (cmp(a[i], pivot) < 0) i++
        while (cmp(a[j], pivot) > 0) j--
        if (i <= j) {
          var t = a[i]
          a[i] = a[j]
          a[j] = t
          i++
          j--
        }
      }
      if (k <= j) hi = j
      else if (k >= i) lo = i
      else return
    }
  }

  // ------------------------------------------------------------ engine

  /* loader(name) -> Promise of the parsed JSON of search/<name>.
   * opts.lunrIndex: answer with lunr.Index.load on the merged shards and
   * lunr's own Index#query instead of scoreClauses (same results; slow for
   * frequent terms; kept as the reference the tests compare with). */
  function createEngine (loader, opts) {
    var useLunr = !!(opts && opts.lunrIndex)
    var files = Object.create(null)      // manifest and doc chunks (small)
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

    function loadShards (m, ids) {
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
        recent = ids.concat(recent.filter(function (i) { return ids.indexOf(i) === -1 }))
        while (recent.length > Math.max(MAX_SHARDS, ids.length)) {
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
        for (var f = 1; f < e.length; f++) p.push(decodePostings(e[f]))
        decoded.set(term, p)
      }
      return p
    }

    function candidatesIn (m, ids) {
      return function (prefix) {
        var out = []
        ids.forEach(function (i) {
          shards[i].forEach(function (e) {
            if (e[0].slice(0, prefix.length) === prefix) out.push(e[0])
          })
        })
        return out
      }
    }

    function lunrSearch (m, parsed, ids, lists) {
      var need = neededTerms(parsed.clauses)
      var index = lunr.Index.load(mergeShards(m, lists, isNegated(parsed.clauses), termFilter(need)))
      var byRef = Object.create(null)
      var results = runQuery(index, parsed.clauses)
      var docs = new Int32Array(results.length)
      var scores = new Float64Array(m.docs)
      results.forEach(function (r, i) {
        byRef[r.ref] = Object.keys(r.matchData.metadata)
        docs[i] = +r.ref
        scores[+r.ref] = r.score
      })
      return ranked(docs, scores, function (ref) { return byRef[ref] || [] })
    }

    /* -> Promise of {count, slice(from, to), results, termsFor(ref), hint, empty} */
    function search (queryString) {
      return manifest().then(function (m) {
        var parsed = parseQuery(queryString, m.fields)
        if (!parsed.clauses.length) {
          var none = ranked(new Int32Array(0), null, function () { return [] })
          none.hint = parsed.hint
          none.empty = true
          return none
        }
        var ids = neededShards(m, parsed.clauses)
        var bytes = 0
        ids.forEach(function (i) { if (!shards[i]) bytes += m.shards.bytes[i] })
        if (bytes > MAX_FETCH_BYTES) {
          throw new QueryError('That query would need too much of the index. ' +
            'Use a longer prefix before * or drop the ~ (fuzzy) part.')
        }
        return loadShards(m, ids).then(function (lists) {
          var out = useLunr
            ? lunrSearch(m, parsed, ids, lists)
            : scoreClauses(m, parsed.clauses, postings, candidatesIn(m, ids))
          out.hint = parsed.hint
          return out
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

  // ------------------------------------------------------------ highlighting

  /* Split text into [{text, mark}] pieces, marking words whose lunr term
   * (trimmed, lower-cased, stemmed) is one of `terms`. */
  function highlight (text, terms) {
    var set = Object.create(null)
    terms.forEach(function (t) { set[t] = true })
    var parts = String(text).split(/([\s\-]+)/)
    var out = []
    function push (s, mark) {
      if (!s) return
      var last = out[out.length - 1]
      if (last && last.mark === mark) last.text += s
      else out.push({ text: s, mark: mark })
    }
    for (var i = 0; i < parts.length; i++) {
      var word = parts[i]
      if (i % 2 === 1 || !word) { push(word, false); continue }
      var core = trimWord(word.toLowerCase())
      if (core && set[stem(core)] === true) {
        var start = word.toLowerCase().indexOf(core)
        push(word.slice(0, start), false)
        push(word.slice(start, start + core.length), true)
        push(word.slice(start + core.length), false)
      } else {
        push(word, false)
      }
    }
    return out
  }

  var core = {
    parseQuery: parseQuery,
    neededShards: neededShards,
    neededTerms: neededTerms,
    termFilter: termFilter,
    shardFor: shardFor,
    mergeShards: mergeShards,
    runQuery: runQuery,
    scoreClauses: scoreClauses,
    ranked: ranked,
    decodePostings: decodePostings,
    isNegated: isNegated,
    createEngine: createEngine,
    highlight: highlight,
    QueryError: QueryError
  }

  if (!root || !root.document) return core
  core.init = function (doc) {
    if (doc.readyState === 'loading') {
      doc.addEventListener('DOMContentLoaded', function () { setup(doc) })
    } else {
      setup(doc)
    }
  }
  return core

  // ------------------------------------------------------------ browser UI
  // (function declarations below are hoisted; they only run in a browser)

  function setup (doc) {
    var input = doc.getElementById('search-input')
    var dropdown = doc.getElementById('search-dropdown')
    if (!input || !lunr) return
    var form = input.form
    var html = doc.documentElement
    var base = html.getAttribute('data-base') || '/'
    var offline = html.getAttribute('data-offline') === '1' || root.location.protocol === 'file:'
    var engine = createEngine(offline ? scriptLoader(doc, base) : fetchLoader(base))
    var page = doc.getElementById('search-page')
    var ui = {
      doc: doc, input: input, dropdown: dropdown, form: form, base: base, offline: offline,
      engine: engine, page: page, seq: 0, timer: 0, active: -1, options: [],
      status: doc.getElementById('search-status'), list: doc.getElementById('search-results'),
      editing: false, shown: 0, last: null, title: doc.title
    }
    ui.live = doc.createElement('div')
    ui.live.className = 'search-live visually-hidden'
    ui.live.setAttribute('aria-live', 'polite')
    ui.live.setAttribute('role', 'status')
    form.appendChild(ui.live)

    input.setAttribute('role', 'combobox')
    input.setAttribute('aria-autocomplete', 'list')
    input.setAttribute('aria-haspopup', 'listbox')
    input.setAttribute('aria-expanded', 'false')
    if (dropdown) {
      dropdown.setAttribute('role', 'listbox')
      if (!dropdown.hasAttribute('aria-label')) dropdown.setAttribute('aria-label', 'Search suggestions')
    }

    var warm = function () { engine.manifest().catch(function () {}) }
    input.addEventListener('focus', warm)
    input.addEventListener('input', function () {
      clearTimeout(ui.timer)
      ui.timer = setTimeout(function () { onInput(ui) }, DEBOUNCE_MS)
    })
    input.addEventListener('keydown', function (ev) { onKeydown(ui, ev) })
    doc.addEventListener('click', function (ev) {
      if (!form.contains(ev.target)) closeDropdown(ui)
    })
    input.addEventListener('blur', function () {
      setTimeout(function () {
        if (!form.contains(doc.activeElement)) closeDropdown(ui)
      }, 150)
    })
    if (dropdown) {
      dropdown.addEventListener('mousedown', function (ev) {
        // keep focus in the input while clicking an option
        if (ev.target.closest && ev.target.closest('[role="option"]')) ev.preventDefault()
      })
    }
    if (page) {
      root.addEventListener('popstate', function () { fromLocation(ui) })
      fromLocation(ui)
    } else if (doc.activeElement === input) {
      // site.js loads this file on the first focus: what was typed meanwhile is searched now
      warm()
      if (input.value.trim()) onInput(ui)
    }
  }

  function fetchLoader (base) {
    return function (name) {
      return fetch(base + 'search/' + name).then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + name)
        return r.json()
      })
    }
  }

  function scriptLoader (doc, base) {
    return function (name) {
      return new Promise(function (resolve, reject) {
        var s = doc.createElement('script')
        s.src = base + 'search/' + name.replace(/\.json$/, '.js')
        s.async = true
        s.onload = function () {
          s.parentNode.removeChild(s)
          var reg = root[DATA_GLOBAL] || {}
          var data = reg[name]
          delete reg[name]      // the engine keeps what it needs
          if (data === undefined) reject(new Error('no data in ' + s.src))
          else resolve(data)
        }
        s.onerror = function () {
          s.parentNode.removeChild(s)
          reject(new Error('cannot load ' + s.src))
        }
        doc.head.appendChild(s)
      })
    }
  }

  function resultHref (ui, url) {
    var u = url
    if (ui.offline && (u === '' || u.slice(-1) === '/')) u += 'index.html'
    return ui.base + u
  }

  function pageHref (ui, q) {
    var action = ui.form.getAttribute('action') || (ui.base + 'search/')
    return action + '?q=' + encodeURIComponent(q)
  }

  // ---- running a query

  function perform (ui, q, limit) {
    var seq = ++ui.seq
    var current = function () { return seq === ui.seq }
    return ui.engine.search(q).then(function (res) {
      if (!current()) return null
      var top = res.slice(0, limit)
      return ui.engine.docs(top.map(function (r) { return r.ref })).then(function (docs) {
        if (!current()) return null
        return { q: q, res: res, top: top, docs: docs }
      })
    }).catch(function (err) {
      if (!current()) return null
      if (err instanceof QueryError) return { q: q, error: err.message }
      return { q: q, error: 'Search is unavailable right now (the index could not be loaded).', broken: true }
    })
  }

  function onInput (ui) {
    var q = ui.input.value
    if (ui.page) {
      updateUrl(ui, q, !ui.editing)
      ui.editing = true
      return showPage(ui, q)
    }
    if (!q.trim()) { closeDropdown(ui); return }
    perform(ui, q, DROPDOWN_RESULTS).then(function (out) {
      if (out) renderDropdown(ui, out)
    })
  }

  function onKeydown (ui, ev) {
    var open = ui.dropdown && !ui.dropdown.hidden
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      if (!open) {
        if (ui.options.length && !ui.page) { openDropdown(ui); ev.preventDefault() }
        return
      }
      ev.preventDefault()
      var n = ui.options.length
      if (!n) return
      var next = ev.key === 'ArrowDown' ? ui.active + 1 : ui.active - 1
      if (next >= n) next = 0
      if (next < -1) next = n - 1
      if (next === -1 && ev.key === 'ArrowUp') next = ui.active === -1 ? n - 1 : -1
      setActive(ui, next)
    } else if (ev.key === 'Enter') {
      if (open && ui.active >= 0 && ui.options[ui.active]) {
        ev.preventDefault()
        root.location.href = ui.options[ui.active].href
      } else if (ui.page) {
        ev.preventDefault()
        clearTimeout(ui.timer)
        updateUrl(ui, ui.input.value, !ui.editing)
        ui.editing = false
        showPage(ui, ui.input.value)
      }
      // otherwise the form submits: GET {base}search/?q=...
    } else if (ev.key === 'Tab') {
      // focus leaves the combobox: the popup closes, so Tab never lands on the (scrollable) listbox
      if (open) closeDropdown(ui)
    } else if (ev.key === 'Escape') {
      if (open) {
        ev.preventDefault()
        closeDropdown(ui)
      }
    }
  }

  // ---- dropdown (ARIA combobox + listbox)

  function renderDropdown (ui, out) {
    var dd = ui.dropdown
    if (!dd) return
    clear(dd)
    ui.options = []
    ui.active = -1
    ui.input.removeAttribute('aria-activedescendant')
    if (out.error) {
      dd.appendChild(message(ui.doc, out.error))
      announce(ui, out.error)
    } else {
      if (out.res.hint) dd.appendChild(message(ui.doc, out.res.hint))
      var total = out.res.count
      if (!total) {
        var none = out.res.empty
          ? 'Type a word to search for (very common words like \u201cthe\u201d are ignored).'
          : 'No results for \u201c' + out.q + '\u201d. Try removing words or using a prefix like diffus*.'
        dd.appendChild(message(ui.doc, none))
        announce(ui, none)
      }
      out.top.forEach(function (r, i) {
        var d = out.docs[i]
        var a = ui.doc.createElement('a')
        a.className = 'search-option'
        a.id = 'search-option-' + i
        a.setAttribute('role', 'option')
        a.setAttribute('aria-selected', 'false')
        a.setAttribute('tabindex', '-1')
        a.href = resultHref(ui, d.url)
        var t = ui.doc.createElement('span')
        t.className = 'search-option-title'
        appendHighlighted(ui.doc, t, d.title, out.res.termsFor(r.ref))
        var meta = ui.doc.createElement('span')
        meta.className = 'search-option-meta'
        meta.appendChild(ui.doc.createTextNode(d.shown))
        var sn = ui.doc.createElement('span')
        sn.className = 'search-option-snippet'
        appendHighlighted(ui.doc, sn, d.snippet, out.res.termsFor(r.ref))
        a.appendChild(t)
        a.appendChild(meta)
        a.appendChild(sn)
        a.addEventListener('mousemove', function () { if (ui.active !== i) setActive(ui, i) })
        dd.appendChild(a)
        ui.options.push(a)
      })
      if (total) {
        var all = ui.doc.createElement('a')
        all.className = 'search-option search-all'
        all.id = 'search-option-all'
        all.setAttribute('role', 'option')
        all.setAttribute('aria-selected', 'false')
        all.setAttribute('tabindex', '-1')
        all.href = pageHref(ui, out.q)
        all.appendChild(ui.doc.createTextNode(total > out.top.length
          ? 'See all ' + total + ' results'
          : (total === 1 ? 'Open the results page (1 result)' : 'Open the results page (' + total + ' results)')))
        dd.appendChild(all)
        ui.options.push(all)
        announce(ui, total + (total === 1 ? ' result' : ' results') + ', use up and down arrows to choose')
      }
    }
    openDropdown(ui)
  }

  function message (doc, text) {
    var div = doc.createElement('div')
    div.className = 'search-message'
    div.setAttribute('role', 'option')
    div.setAttribute('aria-disabled', 'true')
    div.appendChild(doc.createTextNode(text))
    return div
  }

  function setActive (ui, i) {
    ui.options.forEach(function (o, k) { o.setAttribute('aria-selected', k === i ? 'true' : 'false') })
    ui.active = i
    if (i >= 0 && ui.options[i]) {
      ui.input.setAttribute('aria-activedescendant', ui.options[i].id)
      if (ui.options[i].scrollIntoView) ui.options[i].scrollIntoView({ block: 'nearest' })
    } else {
      ui.input.removeAttribute('aria-activedescendant')
    }
  }

  function openDropdown (ui) {
    if (!ui.dropdown || ui.page) return
    ui.dropdown.hidden = false
    ui.input.setAttribute('aria-expanded', 'true')
  }

  function closeDropdown (ui) {
    if (!ui.dropdown) return
    ui.dropdown.hidden = true
    ui.input.setAttribute('aria-expanded', 'false')
    ui.input.removeAttribute('aria-activedescendant')
    setActive(ui, -1)
  }

  // ---- results page

  function fromLocation (ui) {
    var q = new URLSearchParams(root.location.search).get('q') || ''
    ui.input.value = q
    ui.editing = false
    showPage(ui, q)
  }

  function updateUrl (ui, q, push) {
    var url = root.location.pathname + (q ? '?q=' + encodeURIComponent(q) : '')
    try {
      if (push) root.history.pushState({ q: q }, '', url)
      else root.history.replaceState({ q: q }, '', url)
    } catch (e) { /* e.g. some file:// contexts */ }
  }

  function showPage (ui, q) {
    if (!ui.list || !ui.status) return Promise.resolve()
    if (!q.trim()) {
      ui.seq++
      ui.doc.title = ui.title
      clear(ui.list)
      moreButton(ui)
      setText(ui.status, 'Type in the search box above; results appear as you type. ' + SYNTAX_HELP)
      return Promise.resolve()
    }
    ui.doc.title = '\u201c' + q + '\u201d \u2013 ' + ui.title
    setText(ui.status, 'Searching\u2026')
    return perform(ui, q, PAGE_SIZE).then(function (out) {
      if (!out) return
      ui.last = out
      clear(ui.list)
      if (out.error) { setText(ui.status, out.error); return }
      var total = out.res.count
      var text = total
        ? total + (total === 1 ? ' result' : ' results') + ' for \u201c' + q + '\u201d.'
        : (out.res.empty
          ? 'Type a word to search for (very common words like \u201cthe\u201d are ignored).'
          : 'No results for \u201c' + q + '\u201d. Try removing words, checking the spelling, or using a prefix like diffus*.')
      if (out.res.hint) text += ' ' + out.res.hint
      setText(ui.status, text)
      appendResults(ui, out.top, out.docs, out.res.termsFor)
      ui.shown = out.top.length
      moreButton(ui)
    })
  }

  function appendResults (ui, top, docs, termsFor) {
    top.forEach(function (r, i) {
      var d = docs[i]
      var li = ui.doc.createElement('li')
      li.className = 'search-result'
      var h = ui.doc.createElement('h2')
      h.className = 'search-result-title'
      var a = ui.doc.createElement('a')
      a.href = resultHref(ui, d.url)
      appendHighlighted(ui.doc, a, d.title, termsFor(r.ref))
      h.appendChild(a)
      var meta = ui.doc.createElement('p')
      meta.className = 'search-result-meta'
      var time = ui.doc.createElement('time')
      time.setAttribute('datetime', d.date)
      time.appendChild(ui.doc.createTextNode(d.shown))
      meta.appendChild(time)
      var sn = ui.doc.createElement('p')
      sn.className = 'search-result-snippet'
      appendHighlighted(ui.doc, sn, d.snippet, termsFor(r.ref))
      li.appendChild(h)
      li.appendChild(meta)
      li.appendChild(sn)
      ui.list.appendChild(li)
    })
  }

  function moreButton (ui) {
    var old = ui.doc.getElementById('search-more')
    if (old) old.parentNode.removeChild(old)
    var out = ui.last
    if (!out || out.error || ui.shown >= out.res.count) return
    var b = ui.doc.createElement('button')
    b.type = 'button'
    b.id = 'search-more'
    b.className = 'search-more'
    b.appendChild(ui.doc.createTextNode('Show more results'))
    b.addEventListener('click', function () {
      var seq = ui.seq
      var next = out.res.slice(ui.shown, ui.shown + PAGE_SIZE)
      b.disabled = true
      ui.engine.docs(next.map(function (r) { return r.ref })).then(function (docs) {
        if (seq !== ui.seq) return
        appendResults(ui, next, docs, out.res.termsFor)
        ui.shown += next.length
        moreButton(ui)
      }).catch(function () { b.disabled = false })
    })
    ui.list.parentNode.insertBefore(b, ui.list.nextSibling)
  }

  // ---- DOM helpers (text only, never innerHTML)

  function appendHighlighted (doc, el, text, terms) {
    highlight(text || '', terms).forEach(function (p) {
      if (p.mark) {
        var m = doc.createElement('mark')
        m.appendChild(doc.createTextNode(p.text))
        el.appendChild(m)
      } else {
        el.appendChild(doc.createTextNode(p.text))
      }
    })
  }

  function clear (el) {
    while (el.firstChild) el.removeChild(el.firstChild)
  }

  function setText (el, text) {
    clear(el)
    el.appendChild(el.ownerDocument.createTextNode(text))
  }

  function announce (ui, text) {
    setText(ui.live, text)
  }
})
