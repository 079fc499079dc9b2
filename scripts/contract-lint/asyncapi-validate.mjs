// asyncapi-validate.mjs checks schemas/asyncapi.yaml with the official
// AsyncAPI parser (@asyncapi/parser, the one @asyncapi/cli validate uses):
// the document must parse, and its diagnostics must hold no error and no
// warning. Information and hints are printed too, and fail likewise: the
// contract is clean or the reason is written down here.
import { Parser, fromFile } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node asyncapi-validate.mjs <asyncapi.yaml>');
  process.exit(2);
}
const severities = ['error', 'warning', 'information', 'hint'];
const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, file).parse();
for (const d of diagnostics) {
  const where = d.range ? `${d.range.start.line + 1}:${d.range.start.character + 1}` : '-';
  console.log(`${file}:${where} ${severities[d.severity] ?? d.severity} ${d.code}: ${d.message} (at ${d.path.join('.')})`);
}
if (!document) {
  console.error(`asyncapi: ${file} does not parse`);
  process.exit(1);
}
if (diagnostics.length > 0) {
  console.error(`asyncapi: ${diagnostics.length} diagnostics in ${file}`);
  process.exit(1);
}
console.log(`asyncapi: ${file} is valid AsyncAPI ${document.version()} (@asyncapi/parser), no diagnostics`);
