'use strict'
// Runs queries through the real search.js (Node, lunr.js 2.3.9) over a built index.
//   node tests/bench/relevance.js SEARCH_DIR QUERIES.json [ENGINE.js] > RANKS.json
// (ENGINE.js: another search.js to compare with, e.g. an older version)
// QUERIES.json: [{q, typing}]; prints [{count, top: [ref, ...] (first 10), ms, corrected}]
// (tests/bench/relevance.py writes the queries and reads the answers).
const fs = require('fs')
const path = require('path')
const core = require(process.argv[4] ? path.resolve(process.argv[4]) : '../../themes/default/static/search.js')

const dir = process.argv[2]
const queries = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const engine = core.createEngine(function (name) {
  return Promise.resolve(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')))
})

;(async function () {
  const out = []
  for (const spec of queries) {
    const t0 = process.hrtime.bigint()
    let res
    try {
      res = await engine.search(spec.q, { typing: !!spec.typing })
    } catch (e) {
      if (!(e instanceof core.QueryError)) throw e
      out.push({ count: 0, top: [], ms: 0, corrected: false, error: e.message })
      continue
    }
    const top = res.slice(0, 10).map(function (r) { return r.ref })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    out.push({ count: res.count, top: top, ms: ms, corrected: (res.corrections || []).length > 0 })
  }
  process.stdout.write(JSON.stringify(out))
})().catch(function (e) { console.error(e); process.exit(1) })
