/* sitegen search, part 4 of 6: where things are (pure; no DOM, no I/O) --
 * the segments of the index, the shard of a term in each of them, file
 * names, the doc-store row of a document, and merging loaded shards into a
 * serialized lunr index (the reference path the tests hold scoreClauses to).
 *
 * The index (sitegen/search/index.py) is cut into segments by first-seen
 * period, each with its own term-range shards; shard ids number them all
 * (segment s's shard i is layout(m).offset[s] + i).  A term lives in one
 * shard per segment: the last whose first term (a separator) is <= it.
 * The separators, hashes and sizes are not in the manifest but in one shard
 * directory per term-dictionary bucket (dir-<key>-<hash>.json: for every
 * segment with terms in the bucket, the shards that cover it), registered
 * with addDir before a term of that bucket is looked up.
 * Python twin: sitegen/search/shardmap.py (ShardMap) and read.py.
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

  /* The term-dictionary bucket of a term: its first UTF-16 code unit, 4 hex digits. */
  function bucketKey (term) {
    return ('000' + term.charCodeAt(0).toString(16)).slice(-4)
  }

  /* How many of the sorted strings `list` are <= term. */
  function countLE (list, term) {
    var lo = 0
    var hi = list.length
    while (lo < hi) {
      var mid = (lo + hi) >> 1
      if (list[mid] <= term) lo = mid + 1; else hi = mid
    }
    return lo
  }

  /* Index of the shard holding `term` in a full list of separators: the last whose first term <= term. */
  function shardFor (firsts, term) {
    return Math.max(0, countLE(firsts, term) - 1)
  }

  /* The shards that may hold terms starting with prefix (at most cap), in a full list of separators. */
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
      l = { offset: [], seg: [], local: [], firsts: [], dirs: Object.create(null), hash: [], bytes: [] }
      m.segments.forEach(function (seg, s) {
        l.offset.push(l.seg.length)
        l.firsts.push(seg.first)
        for (var i = 0; i < seg.shards; i++) { l.seg.push(s); l.local.push(i) }
      })
      layouts.set(m, l)
    }
    return l
  }

  /* Register the loaded shard directory of bucket `key` (dir-<key>-<hash>.json:
   * per segment 0 or [first shard, separators after it, hashes, sizes]). */
  function addDir (m, key, dir) {
    var l = layout(m)
    if (l.dirs[key]) return
    l.dirs[key] = dir
    dir.forEach(function (e, s) {
      if (!e) return
      for (var j = 0; j < e[2].length; j++) {
        l.hash[l.offset[s] + e[0] + j] = e[2][j]
        l.bytes[l.offset[s] + e[0] + j] = e[3][j]
      }
    })
  }

  /* The directory entries (per segment) of term's bucket; [] if no term of the archive is in it. */
  function dirOf (m, term) {
    var key = bucketKey(term)
    if (!m.dirs || !m.dirs[key]) return []
    var d = layout(m).dirs[key]
    if (!d) throw new Error('sitegen search: shard directory ' + key + ' is not loaded')
    return d
  }

  /* The shard that would hold `term`, in every segment that has terms of its bucket (ids). */
  function shardsFor (m, term) {
    var l = layout(m)
    var out = []
    dirOf(m, term).forEach(function (e, s) {
      if (e) out.push(l.offset[s] + e[0] + countLE(e[1], term))
    })
    return out
  }

  /* Every shard a loaded directory names (all of them once every directory is loaded). */
  function allShards (m) {
    var l = layout(m)
    var out = []
    for (var k = 0; k < l.seg.length; k++) if (l.hash[k] !== undefined) out.push(k)
    return out
  }

  /* In every segment, the shards that may hold terms starting with prefix (at most cap each; '': all). */
  function shardsInRange (m, prefix, cap) {
    if (!prefix) return allShards(m)
    var l = layout(m)
    var out = []
    dirOf(m, prefix).forEach(function (e, s) {
      if (!e) return
      var base = l.offset[s] + e[0]
      var j = countLE(e[1], prefix)
      out.push(base + j)
      var n = 1
      while (j < e[1].length && e[1][j].slice(0, prefix.length) <= prefix && (!cap || n < cap)) {
        j++
        n++
        out.push(base + j)
      }
    })
    return out
  }

  function known (l, id) {
    if (l.hash[id] === undefined) throw new Error('sitegen search: no loaded shard directory names shard ' + id)
    return id
  }

  function fileName (m, kind, id) {
    var l = layout(m)
    var seg = m.segments[l.seg[known(l, id)]]
    return kind + '-' + seg.name + '-' + l.local[id] + '-' + l.hash[id] + '.json'
  }

  function shardName (m, id) { return fileName(m, 'shard', id) }

  function shardBytes (m, id) {
    var l = layout(m)
    return l.bytes[known(l, id)]
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
    return ['docs-' + seg.name + '-' + chunk + '-' + seg.store + '.json', local - chunk * m.store.size]
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
    bucketKey: bucketKey,
    addDir: addDir,
    allShards: allShards,
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
