/**
 * JSON text as Debezium's router (table.expand.json.payload) writes a jsonb payload: PostgreSQL
 * prints `{"a": 1, "b": [2.50, 3]}`, Jackson reads it into nodes and writes `{"a":1,"b":[2.5,3]}`:
 * no whitespace between tokens, and a number with a fraction or an exponent becomes a double,
 * spelt as Java does (`2.50` → `2.5`, `0.00000015` → `1.5E-7`, `100.0` → `100.0`). Integers and
 * strings are copied as they are, so no digit of a large integer is lost.
 */
import { javaDouble } from '../cdc/column-values.ts';

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
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))![0];
      out += /[.eE]/.test(number) ? javaDouble(String(Number(number))) : number;
      i += number.length - 1;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r') out += ch;
  }
  return out;
}
