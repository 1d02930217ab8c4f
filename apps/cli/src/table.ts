/**
 * A plain-text table in the style Spin's template commands print (comfy-table's
 * ASCII_BORDERS_ONLY_CONDENSED): a border, the header, a `=` rule, one line per row.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const inner = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1);
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').padEnd(inner)} |`;
  return [`+${'-'.repeat(inner + 2)}+`, line(header), `+${'='.repeat(inner + 2)}+`, ...rows.map(line), `+${'-'.repeat(inner + 2)}+`].join('\n');
}
