/**
 * JSON text without the whitespace between tokens, as Jackson writes it: PostgreSQL prints jsonb
 * as `{"a": 1, "b": [2, 3]}`, Debezium's router (table.expand.json.payload) as `{"a":1,"b":[2,3]}`.
 * Strings and numbers are copied as they are, so no digit of a large number is lost.
 */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r') out += ch;
  }
  return out;
}
