/**
 * CSV lines (RFC 4180) for spreadsheets and email tools. A cell a spreadsheet would run as a
 * formula (=, +, -, @, tab, carriage return first) is prefixed with ' so opening an export
 * never runs a user's text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  const safe = typeof value === 'string' && FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export const csvLine = (cells: ReadonlyArray<string | number | Date | null | undefined>): string => `${cells.map(csvCell).join(',')}\r\n`;
