/* sitegen search, part 2 of 6: scoring and ranking (pure; no DOM, no I/O).
 *
 * weigh: lunr 2.3.9's BM25 weights of a term's postings, computed at query
 * time from the stored counts and lengths and the statistics summed over
 * segments (equal to lunr.py's Builder; tests/js hold it so).
 * scoreClauses: lunr 2.3.9's Index#query, computed directly on postings
 * (exact lunr BM25 scores; tests/js hold it to lunr.js and lunr.py).
 * rankGroups: the order readers see -- documents matching every query word
 * first, then by how many words they match, then (for the word being typed)
 * exact before prefix matches, then BM25; or newest first.
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var lunrLib = root && root.lunr ? root.lunr : (isNode ? require('lunr') : null)
  var api = factory(lunrLib)
  if (isNode) module.exports = api
  else (root.SitegenSearchParts = root.SitegenSearchParts || {}).score = api
})(typeof window !== 'undefined' ? window : this, function (lunr) {
  'use strict'

  function stem (s) {
    return lunr.stemmer(new lunr.Token(s)).toString()
  }

  var K1 = 1.2
  var B = 0.75
  var F64 = new Float64Array(1)
  var U32 = new Uint32Array(F64.buffer)
  var LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

  /* round(x, 3) * 1000 as Python rounds (the exact binary value of x, ties to
   * even): lunr.py's Builder rounds its weights so.  Only values within 1e-7
   * of a tie need the exact comparison (BigInt on x's mantissa and exponent). */
  function round3Int (x) {
    var p = x * 1000
    var k = Math.floor(p)
    if (!(Math.abs(p - k - 0.5) < 1e-7)) return Math.round(p)
    F64[0] = x
    var hi = U32[LITTLE ? 1 : 0]
    var lo = U32[LITTLE ? 0 : 1]
    var e = (hi >>> 20) & 0x7ff
    var mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
    var exp
    if (e === 0) exp = -1074; else { mant |= 1n << 52n; exp = e - 1075 }
    var lhs = mant * 2000n              // 2000 x = lhs * 2^exp, against 2k + 1
    var rhs = BigInt(2 * k + 1)
    if (exp >= 0) lhs <<= BigInt(exp); else rhs <<= BigInt(-exp)
    if (lhs < rhs) return k
    if (lhs > rhs) return k + 1
    return k % 2 === 0 ? k : k + 1
  }

  /* One field's stored postings [gaps, lengths, counts?] -> local refs, dl, tf. */
  function decodeField (p) {
    var n = p.length ? p[0].length : 0
    var refs = new Int32Array(n)
    var ref = 0
    for (var i = 0; i < n; i++) { ref += p[0][i]; refs[i] = ref }
    return { refs: refs, dl: n ? p[1] : [], tf: p.length > 2 ? p[2] : null }
  }

  /* A term's entries in every segment that has it ([[segment index, shard
   * entry], ...] in segment order) -> per field {refs: Int32Array (global,
   * ascending), w: Float64Array}: the field-vector components lunr 2.3.9
   * would have built for this term over the whole archive.  The BM25
   * statistics are summed over segments: N and each field's total length
   * from the manifest, the document frequency = the term's postings (lunr
   * counts (document, field) pairs).  Same operations in the same order as
   * lunr.py (sitegen/search/bm25.py), then round3Int. */
  function weigh (manifest, segEntries) {
    var n = manifest.docs
    var nf = manifest.fields.length
    var decoded = segEntries.map(function (se) {
      var fieldsOut = []
      for (var f = 0; f < nf; f++) fieldsOut.push(decodeField(se[1][f + 1]))
      return { first: manifest.segments[se[0]].first, fields: fieldsOut }
    })
    var df = 0
    decoded.forEach(function (d) { d.fields.forEach(function (fp) { df += fp.refs.length }) })
    var idf = Math.log(1 + Math.abs((n - df + 0.5) / (df + 0.5)))
    var out = []
    for (var f = 0; f < nf; f++) {
      var total = 0
      decoded.forEach(function (d) { total += d.fields[f].refs.length })
      var refs = new Int32Array(total)
      var w = new Float64Array(total)
      var avg = manifest.lengths[f] / n
      var boost = manifest.boosts[f]
      var j = 0
      decoded.forEach(function (d) {
        var fp = d.fields[f]
        for (var i = 0; i < fp.refs.length; i++) {
          var tf = fp.tf ? fp.tf[i] : 1
          var score = idf * ((K1 + 1) * tf) / (K1 * (1 - B + B * (fp.dl[i] / avg)) + tf)
          refs[j] = d.first + fp.refs[i]
          w[j++] = round3Int(score * boost) / 1000
        }
      })
      out.push({ refs: refs, w: w })
    }
    return out
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

  /* Results ranked lazily: showing the top 8 of 50,000 hits needs a
   * selection, not a full sort.  Order: tiers (desc, when given), then score
   * (desc), then ref; with byDate, newest first (refs are in date order).
   *   count, slice(from, to) -> [{ref, score}], results (all, sorted), termsFor(ref) */
  function ranked (docs, scores, termsFor, tiers, byDate) {
    var sorted = 0          // docs[0, sorted) are the best, in order
    var cmp = byDate
      ? function (a, b) { return b - a }
      : tiers
        ? function (a, b) { return (tiers[b] - tiers[a]) || (scores[b] - scores[a]) || (a - b) }
        : function (a, b) { return (scores[b] - scores[a]) || (a - b) }
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
      for (var i = from; i < to; i++) out.push({ ref: docs[i], score: scores ? scores[docs[i]] : 0 })
      return out
    }
    return {
      count: docs.length,
      slice: slice,
      get results () { return slice(0, docs.length) },
      termsFor: termsFor,
      docs: docs,
      scores: scores
    }
  }

  /* The reader's ranking over resolved groups (shards.js resolveGroups):
   * groups = [{fieldIdx, presence, terms (indexed terms), exact (the exact
   * term or null), prefix}], base = lunr scores of the positive groups' terms
   * ({scores: Float64Array over all refs, termsFor}), opts = {lo, hi (ref
   * range of the date filter), byDate, keep (ref -> bool: the phrase check)}.  A document must match every
   * required group and no prohibited one; its tier is 2 x the number of
   * positive groups it matches, +1 if it matches the typed word exactly. */
  function rankGroups (manifest, groups, postings, base, opts) {
    var n = manifest.docs
    var lo = opts && opts.lo != null ? opts.lo : 0
    var hi = opts && opts.hi != null ? opts.hi : n
    var P = lunr.Query.presence
    var cover = new Int32Array(n)
    var bonus = new Uint8Array(n)
    var reqHits = new Int32Array(n)
    var excluded = new Uint8Array(n)
    var nRequired = 0
    var nPositive = 0
    groups.forEach(function (g) {
      var flags = new Uint8Array(n)
      var exact = g.prefix ? new Uint8Array(n) : null
      g.terms.forEach(function (t) {
        var post = postings(t)
        g.fieldIdx.forEach(function (k) {
          var refs = post[k].refs
          for (var i = 0; i < refs.length; i++) {
            flags[refs[i]] = 1
            if (exact && t === g.exact) exact[refs[i]] = 1
          }
        })
      })
      if (g.presence === P.PROHIBITED) {
        for (var d = 0; d < n; d++) excluded[d] |= flags[d]
        return
      }
      nPositive++
      if (g.presence === P.REQUIRED) nRequired++
      for (var d2 = 0; d2 < n; d2++) {
        if (!flags[d2]) continue
        cover[d2]++
        if (g.presence === P.REQUIRED) reqHits[d2]++
        if (exact && exact[d2]) bonus[d2] = 1
      }
    })
    var hits = new Int32Array(Math.max(0, hi - lo))
    var tiers = new Int32Array(n)
    var count = 0
    for (var doc = Math.max(0, lo); doc < Math.min(hi, n); doc++) {
      if (nPositive && !cover[doc]) continue
      if (excluded[doc] || reqHits[doc] !== nRequired) continue
      if (opts && opts.keep && !opts.keep(doc)) continue
      hits[count++] = doc
      tiers[doc] = 2 * cover[doc] + bonus[doc]
    }
    var scores = base ? base.scores : new Float64Array(n)
    var out = ranked(hits.subarray(0, count), scores, base ? base.termsFor : function () { return [] },
      tiers, !!(opts && opts.byDate) || !nPositive)
    out.tierOf = function (ref) { return tiers[ref] }
    return out
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

  return {
    round3Int: round3Int,
    decodeField: decodeField,
    weigh: weigh,
    hasRef: hasRef,
    scoreClauses: scoreClauses,
    ranked: ranked,
    rankGroups: rankGroups,
    select: select
  }
})
