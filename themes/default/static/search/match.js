/* sitegen search, part 3 of 6: matching helpers (pure) -- typo corrections
 * and the phrase check on token positions.
 *
 * corrections(word, term, bucket, limit): a word in no paper -> the nearest
 * terms of its term-dictionary bucket (sitegen/termdict.py): distance to the
 * word's stem, or to the word for a candidate stem plus a common ending
 * ("gener" + "ate": a typo often defeats the stemmer); <= 1, or 2 for words of
 * 8+ letters; words under 4 letters are not corrected; nearest first, then
 * the most frequent.  Python twin: sitegen/searchtypos.py.
 *
 * phraseFilter / decodePositions: the positions twins of shards
 * (sitegen/positions.py).  Python twin: sitegen/searchquery.py.
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var api = factory()
  if (isNode) module.exports = api
  else (root.SitegenSearchParts = root.SitegenSearchParts || {}).match = api
})(typeof window !== 'undefined' ? window : this, function () {
  'use strict'

  function jsLess (a, b) { return a < b ? -1 : (a > b ? 1 : 0) }

  /* Optimal-string-alignment distance (adjacent transpositions count 1),
   * or max + 1 once it must exceed max. */
  function editDistance (a, b, max) {
    if (Math.abs(a.length - b.length) > max) return max + 1
    var prev2 = null
    var prev = []
    for (var j = 0; j <= b.length; j++) prev.push(j)
    for (var i = 1; i <= a.length; i++) {
      var cur = [i]
      var best = i
      for (var j2 = 1; j2 <= b.length; j2++) {
        var cost = a.charCodeAt(i - 1) === b.charCodeAt(j2 - 1) ? 0 : 1
        var v = Math.min(prev[j2] + 1, cur[j2 - 1] + 1, prev[j2 - 1] + cost)
        if (prev2 && i > 1 && j2 > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j2 - 2) &&
            a.charCodeAt(i - 2) === b.charCodeAt(j2 - 1)) v = Math.min(v, prev2[j2 - 2] + 1)
        cur.push(v)
        if (v < best) best = v
      }
      if (best > max) return max + 1
      prev2 = prev
      prev = cur
    }
    return prev[b.length]
  }

  /* Endings that turn a stem back into a word ("gener" + "ate"): a misspelt
   * word often defeats the stemmer ("genrate" stems to "genrat"), so it is
   * also compared with each candidate stem plus each of these. */
  var ENDINGS = ['', 's', 'e', 'es', 'ed', 'd', 'er', 'ers', 'ing', 'ings', 'ion', 'ions', 'ation', 'ations',
    'ate', 'ated', 'ates', 'al', 'ally', 'ly', 'y', 'ies', 'ity', 'ities', 'ness', 'ment', 'ments', 'ive',
    'ence', 'ance', 'ent', 'ant', 'ism', 'ist', 'ize', 'ized', 'ization', 'ic', 'ical', 'ous', 'able', 'ful']

  /* The distance of a candidate stem t from a misspelt word: to the word's
   * own stem, or to the word for t plus an ending, whichever is smaller. */
  function typoDistance (word, term, t, max) {
    var best = editDistance(term, t, max)
    for (var i = 0; i < ENDINGS.length && best > 0; i++) {
      var cand = t + ENDINGS[i]
      if (Math.abs(cand.length - word.length) <= max) best = Math.min(best, editDistance(word, cand, max))
    }
    return best
  }

  /* The corrections of a missing term from its bucket ([[terms of df class
   * 0], [class 1], ...]): the terms at the smallest distance (<= 1, or 2
   * for words of 8+ letters), most frequent first, at most `limit`. */
  function corrections (word, term, bucket, limit) {
    if (word.length < 4 || !bucket) return []
    var max = word.length >= 8 ? 2 : 1
    var found = []
    for (var c = bucket.length - 1; c >= 0; c--) {
      var terms = bucket[c]
      for (var k = 0; k < terms.length; k++) {
        var t = terms[k]
        if (t === term || t.length > word.length + max || t.length < term.length - max - 8) continue
        var d = typoDistance(word, term, t, max)
        if (d <= max) found.push([d, -c, t])
      }
    }
    found.sort(function (x, y) { return (x[0] - y[0]) || (x[1] - y[1]) || jsLess(x[2], y[2]) })
    var out = []
    for (var i = 0; i < found.length && out.length < limit; i++) {
      if (found[i][0] !== found[0][0]) break
      out.push(found[i][2])
    }
    return out
  }

  /* Decode one field of a positions-file entry (sitegen/positions.py) along
   * the field's postings: Map ref -> positions (ascending). */
  function decodePositions (seq, refs) {
    var out = new Map()
    var k = 0
    for (var i = 0; i < refs.length; i++) {
      var n = seq[k++]
      var list = new Array(n)
      var p = 0
      for (var j = 0; j < n; j++) { p += seq[k++]; list[j] = p }
      out.set(refs[i], list)
    }
    return out
  }

  /* ref -> true if every phrase occurs in one field: each word (any of its
   * group's terms) at its offset from a common start.  positions(term) ->
   * [Map ref -> positions] per field. */
  function phraseFilter (manifest, phrases, resolved, positions) {
    var nf = manifest.fields.length
    function at (g, f, ref) {      // the positions of group g in field f of ref, as a Set
      var set = new Set()
      resolved[g].terms.forEach(function (t) {
        var list = positions(t)[f].get(ref)
        if (list) list.forEach(function (p) { set.add(p) })
      })
      return set
    }
    function occurs (phrase, f, ref) {
      var first = at(phrase[0].group, f, ref)
      if (!first.size) return false
      var rest = phrase.slice(1).map(function (w) { return [w.offset - phrase[0].offset, at(w.group, f, ref)] })
      var found = false
      first.forEach(function (p) {
        if (!found && rest.every(function (r) { return r[1].has(p + r[0]) })) found = true
      })
      return found
    }
    return function (ref) {
      return phrases.every(function (phrase) {
        for (var f = 0; f < nf; f++) if (occurs(phrase, f, ref)) return true
        return false
      })
    }
  }

  return {
    editDistance: editDistance,
    typoDistance: typoDistance,
    corrections: corrections,
    decodePositions: decodePositions,
    phraseFilter: phraseFilter
  }
})
