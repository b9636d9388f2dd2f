/* sitegen search, a UI part: the results page's histogram of matches per month
 * (pure geometry here; search.js draws it).
 *
 * Refs are in first-seen order and the dates file lists, per first-seen date,
 * its first ref ([[date, first ref], ...], sitegen/search/index.py), so every
 * match's month comes from its ref alone: the histogram covers all matches,
 * not only the results fetched so far, and needs no document-store chunk.
 *
 * monthCounts(days, refs): [[YYYY-MM, count]] from the archive's first month
 * to its last, zero-filled (the same axis for every query).
 * bars(counts, width, height): [{month, count, x, y, w, h}] in a
 * width x height viewBox (bars only: labels are HTML beside it, so nothing
 * stretches).
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var api = factory()
  if (isNode) module.exports = api
  else (root.SitegenSearchParts = root.SitegenSearchParts || {}).histogram = api
})(typeof window !== 'undefined' ? window : this, function () {
  'use strict'

  function nextMonth (m) {
    var y = +m.slice(0, 4)
    var mo = +m.slice(5, 7) + 1
    if (mo > 12) { y++; mo = 1 }
    return String(y).padStart(4, '0') + '-' + String(mo).padStart(2, '0')
  }

  /* The index of the last day whose first ref is <= ref (days ascending). */
  function dayOf (days, ref) {
    var lo = 0
    var hi = days.length - 1
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1
      if (days[mid][1] <= ref) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  function monthCounts (days, refs) {
    if (!days.length) return []
    var out = []
    var at = Object.create(null)
    var last = days[days.length - 1][0].slice(0, 7)
    for (var m = days[0][0].slice(0, 7); m <= last; m = nextMonth(m)) {
      at[m] = out.length
      out.push([m, 0])
    }
    for (var i = 0; i < refs.length; i++) out[at[days[dayOf(days, refs[i])][0].slice(0, 7)]][1]++
    return out
  }

  function bars (counts, width, height) {
    var top = 0
    counts.forEach(function (c) { if (c[1] > top) top = c[1] })
    var slot = width / Math.max(counts.length, 1)
    var gap = Math.min(slot * 0.2, 2)
    return counts.map(function (c, i) {
      // a month with matches is at least 1 unit tall, so one match is never invisible
      var h = top ? Math.max(c[1] ? 1 : 0, Math.round(height * c[1] / top * 100) / 100) : 0
      return {
        month: c[0], count: c[1], h: h, y: Math.round((height - h) * 100) / 100,
        x: Math.round((i * slot + gap / 2) * 100) / 100, w: Math.round((slot - gap) * 100) / 100
      }
    })
  }

  return { monthCounts: monthCounts, bars: bars, dayOf: dayOf }
})
