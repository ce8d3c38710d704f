// Type-checks Grafana dashboard JSON files against @grafana/schema, the
// package Grafana publishes its dashboard schema in (TypeScript types
// generated from its CUE kinds; the package ships no JSON Schema).
//
//   node check.mjs DASHBOARD.json...
//
// Run it in a folder where `npm ci` has installed this folder's
// package.json and package-lock.json (the pinned @grafana/schema and
// typescript): report/dashboards' TestGrafanaSchema does, in a cache
// folder. Each file becomes a TypeScript module whose object literal must
// satisfy Dashboard (so an unknown key, a wrong type or a missing
// required field is an error, as the excess-property check reads object
// literals), and each timeseries and stat panel's options and custom
// field config must satisfy that panel's own types. JSON has no enums:
// Json<T> turns the schema's string enums into their string values.
// Exit 0 when every file passes, 1 with tsc's diagnostics otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const ts = require('typescript');

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check.mjs DASHBOARD.json...');
  process.exit(2);
}

const work = fs.mkdtempSync(path.join(process.cwd(), 'check-'));
const header = `import type { Dashboard, Panel } from '@grafana/schema';
import type { Options as TimeSeriesOptions, FieldConfig as TimeSeriesFieldConfig } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
// A JSON value of type T: string enums become their values.
type Json<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T : { [K in keyof T]: Json<T[K]> };
type PanelOf<O, F> = Omit<Panel, 'options' | 'fieldConfig'> & {
  options: O;
  fieldConfig: Omit<NonNullable<Panel['fieldConfig']>, 'defaults'> & {
    defaults: Omit<NonNullable<Panel['fieldConfig']>['defaults'], 'custom'> & { custom?: F };
  };
};
`;
const roots = [];
files.forEach((f, i) => {
  const d = JSON.parse(fs.readFileSync(f, 'utf8'));
  let src = header + `// ${path.basename(f)}\nexport const dashboard = ${JSON.stringify(d, null, 2)} satisfies Json<Dashboard>;\n`;
  const panels = (d.panels || []).flatMap((p) => [p, ...(p.panels || [])]);
  panels.forEach((p, j) => {
    if (p.type === 'timeseries') {
      src += `export const p${j} = ${JSON.stringify(p)} satisfies Json<PanelOf<TimeSeriesOptions, TimeSeriesFieldConfig>>;\n`;
    } else if (p.type === 'stat') {
      src += `export const p${j} = ${JSON.stringify(p)} satisfies Json<PanelOf<StatOptions, Record<string, never>>>;\n`;
    }
  });
  const out = path.join(work, `d${i}.ts`);
  fs.writeFileSync(out, src);
  roots.push([out, f]);
});

const program = ts.createProgram(roots.map((r) => r[0]), {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  skipLibCheck: true,
});
const diags = ts.getPreEmitDiagnostics(program);
const names = new Map(roots);
for (const d of diags) {
  const where = d.file ? `${names.get(d.file.fileName) || d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
  console.error(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}
fs.rmSync(work, { recursive: true, force: true });
if (diags.length > 0) {
  process.exit(1);
}
console.log(`${files.length} dashboards match @grafana/schema`);
