/* sitegen search, part 1 of 6: folding and query parsing (pure; no DOM, no I/O).
 *
 * parseQuery(text, fields, {typing}) -> {groups, phrases, after, before, hint, empty}
 *
 * A *group* is one query word as the reader wrote it: {word (folded), term
 * (stemmed, or the wildcard pattern), kind: 'term' | 'wildcard' | 'fuzzy',
 * prefix (the word being typed: also matched as a prefix), fields, presence
 * (lunr.Query.presence), boost, editDistance}.  shards.js resolves each group
 * to indexed terms; score.js ranks documents by how many groups they match.
 * A phrase is [{group, offset}]: its words' groups and their token offsets
 * within it (stop words count, punctuation-only tokens do not).
 *
 * Syntax (README "Searching"): plain words, +word (required), -word
 * (excluded), "a phrase" (its words required), title:word / abstract:word,
 * word* (prefix), word~1 (fuzzy), word^2 (boost), after:2025-03 and
 * before:2025-06-01 (first-seen date; after: includes its period, before:
 * excludes it).  The word part is parsed by lunr's own QueryParser; a syntax
 * error falls back to the plain words with a hint.
 *
 * Python twin: sitegen/searchquery.py (tests hold the two equal).
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  var lunrLib = root && root.lunr ? root.lunr : (isNode ? require('lunr') : null)
  var api = factory(lunrLib)
  if (isNode) module.exports = api
  else (root.SitegenSearchParts = root.SitegenSearchParts || {}).query = api
})(typeof window !== 'undefined' ? window : this, function (lunr) {
  'use strict'

  var SYNTAX_HELP = 'Use plain words; "two words" for a phrase, +word requires a word, -word excludes it, ' +
    'word* matches a prefix, title:word searches titles only, after:2025-03 and before:2025-06-01 filter by date.'
  var MIN_PREFIX = 3     // a word being typed is matched as a prefix from this many characters

  // ------------------------------------------------------------ folding

  var MARKS = /\p{M}/gu
  /* NFKD, combining marks dropped, lower-cased, ß -> ss, ς -> σ (sitegen/fold.py). */
  function fold (s) {
    s = String(s)
    if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase()
    s = s.normalize('NFKD').replace(MARKS, '')
    s = s.toLowerCase().replace(/\u00df/g, 'ss').replace(/\u03c2/g, '\u03c3')
    return s.normalize('NFKD').replace(MARKS, '')
  }

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

  // ------------------------------------------------------------ dates

  var DATE_RE = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/

  function pad (n) { return (n < 10 ? '0' : '') + n }

  /* 'YYYY[-MM[-DD]]' -> [start ISO date, start of the next period], or null. */
  function period (text) {
    var m = DATE_RE.exec(text)
    if (!m) return null
    var y = +m[1]
    var mo = m[2] === undefined ? 0 : +m[2]
    var d = m[3] === undefined ? 0 : +m[3]
    if (m[2] !== undefined && (mo < 1 || mo > 12)) return null
    var start, next
    if (m[2] === undefined) {
      start = [y, 1, 1]
      next = [y + 1, 1, 1]
    } else if (m[3] === undefined) {
      start = [y, mo, 1]
      next = mo === 12 ? [y + 1, 1, 1] : [y, mo + 1, 1]
    } else {
      var dim = new Date(Date.UTC(y, mo, 0)).getUTCDate()
      if (d < 1 || d > dim) return null
      start = [y, mo, d]
      var t = new Date(Date.UTC(y, mo - 1, d + 1))
      next = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()]
    }
    var iso = function (p) { return ('000' + p[0]).slice(-4) + '-' + pad(p[1]) + '-' + pad(p[2]) }
    return [iso(start), iso(next)]
  }

  // ------------------------------------------------------------ parsing

  var FILTER_RE = /(^|\s)(after|before):(\S*)/g
  var PHRASE_RE = /(^|\s)\+?"([^"]*)("|$)/g      // a phrase starts a word: onerror="x" is no phrase

  /* Parse a query (see the header comment).  typing: the reader is still
   * typing, so the last word (no space after it) is also a prefix. */
  function parseQuery (queryString, fields, opts) {
    var typing = !!(opts && opts.typing)
    var text = fold(queryString)
    var hints = []
    var after = null
    var before = null
    text = text.replace(FILTER_RE, function (all, lead, which, value) {
      var p = period(value)
      if (!p) {
        hints.push('Dates look like ' + which + ':2025, ' + which + ':2025-03 or ' + which + ':2025-03-12.')
      } else if (which === 'after') {
        if (after === null || p[0] > after) after = p[0]
      } else if (before === null || p[0] < before) {
        before = p[0]
      }
      return lead + ' '
    })
    // phrases: their words are required, and must stand in this order (shards.js checks positions)
    var phraseTokens = []
    text = text.replace(PHRASE_RE, function (all, lead, inner) {
      phraseTokens.push(lunr.tokenizer(inner).map(function (tok) { return tok.toString() }))
      return lead + ' '
    })
    var endsWithSpace = /\s$/.test(queryString) || /\s$/.test(text)
    var query = new lunr.Query(fields)
    try {
      new lunr.QueryParser(text, query).parse()
    } catch (e) {
      if (!(e instanceof lunr.QueryParseError)) throw e
      hints.push('Couldn\u2019t read that as a query (' + e.message + '), so special characters were ignored. ' + SYNTAX_HELP)
      query = new lunr.Query(fields)
      var plain = text.replace(/[:^~+*\\]/g, ' ').replace(/(^|\s)-+/g, '$1')
      try {
        new lunr.QueryParser(plain, query).parse()
      } catch (e2) {
        query = new lunr.Query(fields)
      }
    }
    var groups = []
    var P = lunr.Query.presence
    var last = query.clauses.length - 1
    query.clauses.forEach(function (c, i) {
      var g = {
        word: '', term: '', kind: 'term', prefix: false, fields: c.fields.slice(),
        presence: c.presence, boost: c.boost, editDistance: c.editDistance || 0
      }
      if (c.term.indexOf('*') !== -1) {
        var lead = c.term.replace(/^[^A-Za-z0-9_*]+/, '')
        if (lead === '' || lead.charAt(0) === '*') {
          throw new QueryError('Searches can\u2019t start with * \u2014 put a few letters first, like diffus*.')
        }
        g.kind = 'wildcard'
        g.word = g.term = lead
      } else {
        var t = trimWord(c.term)
        if (t === '' || isStopWord(t)) return
        g.word = t
        g.term = stem(t)
        if (c.editDistance) g.kind = 'fuzzy'
        else if (typing && i === last && !endsWithSpace && !phraseTokens.length && c.presence === P.OPTIONAL &&
                 t.length >= MIN_PREFIX) g.prefix = true
      }
      groups.push(g)
    })
    var phrases = []
    phraseTokens.forEach(function (tokens) {
      var words = []
      var offset = 0
      tokens.forEach(function (w) {
        var t = trimWord(w)
        if (t === '') return           // punctuation only: no position (sitegen/positions.py)
        if (!isStopWord(t)) {
          words.push({ group: groups.length, offset: offset })
          groups.push({
            word: t, term: stem(t), kind: 'term', prefix: false, fields: fields.slice(),
            presence: P.REQUIRED, boost: 1, editDistance: 0
          })
        }
        offset++
      })
      if (words.length > 1) phrases.push(words)
    })
    return {
      groups: groups,
      phrases: phrases,
      after: after,
      before: before,
      hint: hints.length ? hints.join(' ') : null,
      empty: !groups.length && after === null && before === null
    }
  }

  return {
    SYNTAX_HELP: SYNTAX_HELP,
    MIN_PREFIX: MIN_PREFIX,
    fold: fold,
    trimWord: trimWord,
    isStopWord: isStopWord,
    stem: stem,
    period: period,
    parseQuery: parseQuery,
    QueryError: QueryError
  }
})
