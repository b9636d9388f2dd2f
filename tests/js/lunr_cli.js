'use strict'
// Helper for the Python tests (not a test file itself): runs lunr.js 2.3.9's
// own pipeline functions over a JSON list of strings read from stdin.
//   node tests/js/lunr_cli.js stem|trim|pipeline|stopwords < words.json
// "pipeline" is lunr.js's indexing pipeline (trimmer, stopWordFilter,
// stemmer) applied to each string as one token; it prints the resulting
// term, or null when the token is dropped.
const path = require('path')
const lunr = require(path.join(__dirname, '..', '..', 'node_modules', 'lunr'))

const mode = process.argv[2]
let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (c) => { input += c })
process.stdin.on('end', () => {
  const words = input.trim() ? JSON.parse(input) : []
  let out
  if (mode === 'stem') {
    out = words.map((w) => lunr.stemmer(new lunr.Token(w)).toString())
  } else if (mode === 'trim') {
    out = words.map((w) => lunr.trimmer(new lunr.Token(w)).toString())
  } else if (mode === 'pipeline') {
    const p = new lunr.Pipeline()
    p.add(lunr.trimmer, lunr.stopWordFilter, lunr.stemmer)
    out = words.map((w) => {
      const r = p.run([new lunr.Token(w)])
      return r.length ? r[0].toString() : null
    })
  } else if (mode === 'stopwords') {
    // lunr.js keeps the list only inside a closure: probe every candidate.
    out = words.filter((w) => lunr.stopWordFilter(new lunr.Token(w)) === undefined)
  } else if (mode === 'tokenize') {
    out = words.map((w) => lunr.tokenizer(w).map((t) => t.toString()))
  } else {
    process.stderr.write('unknown mode ' + mode + '\n')
    process.exit(2)
  }
  process.stdout.write(JSON.stringify(out))
})
