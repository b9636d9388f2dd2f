/* sitegen search, part 4 of 6: where things are (pure; no DOM, no I/O) --
 * the segments of the index, the shard of a term in each of them, file
 * names, the doc-store row of a document, and merging loaded shards into a
 * serialized lunr index (the reference path the tests hold scoreClauses to).
 *
 * The index (sitegen/search/index.py) is cut into segments by first-seen
 * period, each with its own term-range shards; shard ids number them all
 * (segment s's shard i is layout(m).offset[s] + i).  A term lives in one
 * shard per segment: the last whose first term (a separator) is <= it.
 * Python twin: sitegen/search/query.py (shard_for, shard_range) and read.py.
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var score = isNode ? require('./score.js') : root.SitegenSearchParts.score
  var api = factory(score)
  if (isNode) module.exports = api
  else root.SitegenSearchParts.segments = api
})(typeof window !== 'undefined' ? window : this, function (S) {
  'use strict'

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

  /* Shard ids: segment s's shard i is layout(m).offset[s] + i (one flat
   * numbering, in segment order, then term order). */
  var layouts = new WeakMap()
  function layout (m) {
    var l = layouts.get(m)
    if (!l) {
      l = { offset: [], seg: [], local: [], firsts: [] }
      m.segments.forEach(function (seg, s) {
        l.offset.push(l.seg.length)
        l.firsts.push(seg.first)
        for (var i = 0; i < seg.shards.first.length; i++) { l.seg.push(s); l.local.push(i) }
      })
      layouts.set(m, l)
    }
    return l
  }

  /* The shard that would hold `term`, in every segment (ids). */
  function shardsFor (m, term) {
    var l = layout(m)
    return m.segments.map(function (seg, s) { return l.offset[s] + shardFor(seg.shards.first, term) })
  }

  /* In every segment, the shards that may hold terms starting with prefix (at most cap each). */
  function shardsInRange (m, prefix, cap) {
    var l = layout(m)
    var out = []
    m.segments.forEach(function (seg, s) {
      shardRange(seg.shards.first, prefix, cap).forEach(function (i) { out.push(l.offset[s] + i) })
    })
    return out
  }

  function fileName (m, kind, id) {
    var l = layout(m)
    var seg = m.segments[l.seg[id]]
    return kind + '-' + seg.name + '-' + l.local[id] + '-' + seg.shards.hash[l.local[id]] + '.json'
  }

  function shardName (m, id) { return fileName(m, 'shard', id) }

  function shardBytes (m, id) {
    var l = layout(m)
    return m.segments[l.seg[id]].shards.bytes[l.local[id]]
  }

  /* The segment holding document `ref` (refs are in segment order). */
  function segmentOf (m, ref) {
    var firsts = layout(m).firsts
    var lo = 0
    var hi = firsts.length - 1
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1
      if (firsts[mid] <= ref) lo = mid; else hi = mid - 1
    }
    return lo
  }

  /* [file name, row] of document `ref` in the doc store. */
  function docsName (m, ref) {
    var seg = m.segments[segmentOf(m, ref)]
    var local = ref - seg.first
    var chunk = Math.floor(local / m.store.size)
    return ['docs-' + seg.name + '-' + chunk + '-' + seg.store[chunk] + '.json', local - chunk * m.store.size]
  }

  /* A term's [[segment index, entry], ...] in segment order, from loaded
   * shards ({id: entries}). */
  function byTerm (manifest, loaded) {
    var l = layout(manifest)
    var out = new Map()
    Object.keys(loaded).map(Number).sort(function (a, b) { return a - b }).forEach(function (id) {
      loaded[id].forEach(function (e) {
        var list = out.get(e[0])
        if (!list) out.set(e[0], list = [])
        list.push([l.seg[id], e])
      })
    })
    return out
  }

  /* Merge loaded shards ({id: entries}) into a serialized lunr index: the
   * terms passing `keep` (default: all) in JavaScript order, weighed over
   * all their segments (score.weigh), field vectors with their components
   * in index order.  Right for a term only if its shard is loaded in every
   * segment. */
  function mergeShards (manifest, loaded, keep) {
    var fields = manifest.fields
    var inverted = []
    var vectors = Object.create(null)
    var keys = []
    var terms = byTerm(manifest, loaded)
    var names = Array.from(terms.keys()).filter(function (t) { return !keep || keep(t) }).sort(jsLess)
    names.forEach(function (t, idx) {
      var posting = { _index: idx }
      S.weigh(manifest, terms.get(t)).forEach(function (fp, f) {
        var byRef = {}
        for (var i = 0; i < fp.refs.length; i++) {
          byRef[fp.refs[i]] = {}
          var key = fields[f] + '/' + fp.refs[i]
          var vec = vectors[key]
          if (vec === undefined) {
            vec = vectors[key] = []
            keys.push(key)
          }
          vec.push(idx, fp.w[i])
        }
        posting[fields[f]] = byRef
      })
      inverted.push([t, posting])
    })
    return {
      version: manifest.lunr,
      fields: fields,
      fieldVectors: keys.map(function (k) { return [k, vectors[k]] }),
      invertedIndex: inverted,
      pipeline: manifest.pipeline
    }
  }

  return {
    jsLess: jsLess,
    shardFor: shardFor,
    shardRange: shardRange,
    layout: layout,
    shardsFor: shardsFor,
    shardsInRange: shardsInRange,
    fileName: fileName,
    shardName: shardName,
    shardBytes: shardBytes,
    segmentOf: segmentOf,
    docsName: docsName,
    byTerm: byTerm,
    mergeShards: mergeShards
  }
})
