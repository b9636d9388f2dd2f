/* sitegen search, part 6 of 6 and the entry point: the UI (header dropdown
 * and the /search/ results page).
 *
 * The pure parts live in static/search/: query.js (folding, parsing),
 * score.js (lunr BM25 weights computed at query time, scoring, the reader's
 * ranking), match.js (typo corrections, the phrase check), segments.js
 * (where a term or document lives: segments, shard ranges, file names),
 * shards.js (the engine: loading, prefixes, typos, phrases, doc store).  This file loads them (plain
 * <script> elements next to it, so file:// works with no build step) and
 * wires the page.  In Node (tests) it exports the pure core of all parts.
 *
 * Offline builds (data-offline="1", file://) cannot fetch: every data file is
 * also a .js file that fills window.SITEGEN_SEARCH_DATA; we load those with
 * <script src> elements.  No inline script, no innerHTML of data: titles and
 * snippets become text nodes, highlights are <mark> elements.
 */
(function (root, factory) {
  'use strict'
  var isNode = typeof module === 'object' && module && module.exports
  if (isNode) {
    var q = require('./search/query.js')
    var s = require('./search/score.js')
    var mt = require('./search/match.js')
    var sg = require('./search/segments.js')
    var sh = require('./search/shards.js')
    module.exports = factory(require('lunr'), root, q, s, mt, sh, sg)
    return
  }
  if (!root || !root.document) return
  var PARTS = ['query', 'score', 'match', 'segments', 'shards']
  var self = root.document.currentScript
  var dir = self && self.src ? self.src.replace(/[^/]*$/, '') + 'search/' : null
  function start () {
    var parts = root.SitegenSearchParts
    if (!root.lunr) return
    var api = factory(root.lunr, root, parts.query, parts.score, parts.match, parts.shards, parts.segments)
    root.SitegenSearch = api
    api.init(root.document)
  }
  var have = root.SitegenSearchParts || {}
  var missing = PARTS.filter(function (name) { return !have[name] })
  if (!missing.length || !dir) { start(); return }
  var left = missing.length
  missing.forEach(function (name) {
    var el = root.document.createElement('script')
    el.src = dir + name + '.js'
    el.async = false          // execute in this order: shards needs the others
    el.onload = function () { if (--left === 0) start() }
    el.onerror = function () { if (root.console) root.console.error('sitegen search: cannot load ' + el.src) }
    root.document.head.appendChild(el)
  })
})(typeof window !== 'undefined' ? window : this, function (lunr, root, Q, S, M, SH, SG) {
  'use strict'

  var DATA_GLOBAL = 'SITEGEN_SEARCH_DATA'
  var DROPDOWN_RESULTS = 8
  var PAGE_SIZE = 20
  var DEBOUNCE_MS = 80
  var SYNTAX_HELP = Q.SYNTAX_HELP
  var QueryError = Q.QueryError
  var createEngine = SH.createEngine

  // ------------------------------------------------------------ highlighting

  var EDGE = /^[^\p{L}\p{N}_]+|[^\p{L}\p{N}_]+$/gu

  /* Split text into [{text, mark}] pieces, marking words whose lunr term
   * (folded, trimmed, stemmed) is one of `terms`. */
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
      var core = Q.trimWord(Q.fold(word))
      if (core && set[Q.stem(core)] === true) {
        var inner = word.replace(EDGE, '')
        var start = inner ? word.indexOf(inner) : 0
        push(word.slice(0, start), false)
        push(inner || word, true)
        push(word.slice(start + (inner || word).length), false)
      } else {
        push(word, false)
      }
    }
    return out
  }

  /* A word of `texts` whose term is `term` (how a correction is shown), or the term. */
  function surface (term, texts) {
    for (var i = 0; i < texts.length; i++) {
      var words = String(texts[i] || '').split(/[\s\-]+/)
      for (var j = 0; j < words.length; j++) {
        var core = Q.trimWord(Q.fold(words[j]))
        if (core && Q.stem(core) === term) return core
      }
    }
    return term
  }

  /* The query as it was searched: each corrected word replaced by how its
   * first correction appears in the results. */
  function correctedQuery (q, corrections, docs) {
    var texts = []
    docs.forEach(function (d) { texts.push(d.title, d.snippet) })
    var out = Q.fold(q)
    corrections.forEach(function (c) {
      var shown = surface(c.terms[0], texts)
      out = out.split(/(\s+)/).map(function (w) {
        return Q.trimWord(w.replace(/^[+-]/, '')) === c.word ? w.replace(c.word, shown) : w
      }).join('')
    })
    return out
  }

  var core = {}
  ;[Q, S, M, SG, SH].forEach(function (part) { for (var k in part) core[k] = part[k] })
  core.highlight = highlight
  core.surface = surface
  core.correctedQuery = correctedQuery

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
    return action + '?q=' + encodeURIComponent(q.trim())
  }

  // ---- running a query

  /* Search and fetch the top results' rows.  opts: {typing (the last word
   * is also a prefix), byDate (newest first)}. */
  function perform (ui, q, limit, opts) {
    var seq = ++ui.seq
    var current = function () { return seq === ui.seq }
    return ui.engine.search(q, opts).then(function (res) {
      if (!current()) return null
      var top = res.slice(0, limit)
      return ui.engine.docs(top.map(function (r) { return r.ref })).then(function (docs) {
        if (!current()) return null
        var shownAs = res.corrections.length ? correctedQuery(q, res.corrections, docs) : null
        return { q: q, res: res, top: top, docs: docs, correctedTo: shownAs }
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
      return showPage(ui, q, true)
    }
    if (!q.trim()) { closeDropdown(ui); return }
    perform(ui, q, DROPDOWN_RESULTS, { typing: true }).then(function (out) {
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
        showPage(ui, ui.input.value, false)
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
      if (out.correctedTo) dd.appendChild(message(ui.doc, correctionText(out)))
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

  /* "Showing results for “diffusion models”: no paper contains “difusion”." */
  function correctionText (out) {
    var words = out.res.corrections.map(function (c) { return '\u201c' + c.word + '\u201d' })
    return 'Showing results for \u201c' + out.correctedTo + '\u201d: no paper contains ' +
      words.join(' or ') + '.'
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
    var params = new URLSearchParams(root.location.search)
    var q = params.get('q') || ''
    ui.byDate = params.get('sort') === 'date'
    ui.input.value = q
    ui.editing = false
    showPage(ui, q, false)
  }

  function pageUrl (ui, q) {
    var parts = []
    if (q) parts.push('q=' + encodeURIComponent(q))
    if (ui.byDate) parts.push('sort=date')
    return root.location.pathname + (parts.length ? '?' + parts.join('&') : '')
  }

  function updateUrl (ui, q, push) {
    var url = pageUrl(ui, q)
    try {
      if (push) root.history.pushState({ q: q }, '', url)
      else root.history.replaceState({ q: q }, '', url)
    } catch (e) { /* e.g. some file:// contexts */ }
  }

  /* The "Sort: Relevance | Newest first" switch above the results (made once). */
  function sortControl (ui) {
    if (ui.sort) return ui.sort
    var p = ui.doc.createElement('p')
    p.className = 'search-sort'
    p.id = 'search-sort'
    p.appendChild(ui.doc.createTextNode('Sort: '))
    ui.sortButtons = [['relevance', 'Best match'], ['date', 'Newest first']].map(function (o, i) {
      var b = ui.doc.createElement('button')
      b.type = 'button'
      b.className = 'search-sort-' + o[0]
      b.appendChild(ui.doc.createTextNode(o[1]))
      b.addEventListener('click', function () {
        var byDate = o[0] === 'date'
        if (byDate === ui.byDate) return
        ui.byDate = byDate
        updateUrl(ui, ui.input.value, true)
        ui.editing = false
        showPage(ui, ui.input.value, false)
      })
      if (i) p.appendChild(ui.doc.createTextNode(' '))
      p.appendChild(b)
      return b
    })
    ui.list.parentNode.insertBefore(p, ui.list)
    ui.sort = p
    return p
  }

  function showPage (ui, q, typing) {
    if (!ui.list || !ui.status) return Promise.resolve()
    sortControl(ui)
    ui.sortButtons.forEach(function (b, i) { b.setAttribute('aria-pressed', String((i === 1) === !!ui.byDate)) })
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
    return perform(ui, q, PAGE_SIZE, { typing: !!typing, byDate: !!ui.byDate }).then(function (out) {
      if (!out) return
      ui.last = out
      clear(ui.list)
      if (out.error) { setText(ui.status, out.error); return }
      var total = out.res.count
      var text = total
        ? total + (total === 1 ? ' result' : ' results') + ' for \u201c' + q + '\u201d' +
          (ui.byDate ? ', newest first.' : '.')
        : (out.res.empty
          ? 'Type a word to search for (very common words like \u201cthe\u201d are ignored).'
          : 'No results for \u201c' + q + '\u201d. Try removing words, checking the spelling, or using a prefix like diffus*.')
      if (out.correctedTo) text += ' ' + correctionText(out)
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

