/** `kafka-pattern query <store> <key> --url <endpoint>`: one key of an instance's interactive-query endpoint. */

export class QueryError extends Error {
  override name = 'QueryError';
}

/** `<url>/stores/<store>/keys/<key>`, each segment escaped, with window bounds when given. */
export function queryUrl(
  base: string,
  store: string,
  key: string,
  window: { from?: number; to?: number } = {},
): URL {
  let url: URL;
  try {
    url = new URL(base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new QueryError(
      `--url "${base}" is not a URL: give the instance's endpoint, e.g. http://127.0.0.1:8080`,
    );
  }
  url = new URL(`stores/${encodeURIComponent(store)}/keys/${encodeURIComponent(key)}`, url);
  if (window.from !== undefined) url.searchParams.set('from', String(window.from));
  if (window.to !== undefined) url.searchParams.set('to', String(window.to));
  return url;
}

/** The value as the endpoint answers it (JSON, pretty-printed); a 404 or other failure is a QueryError saying so. */
export async function queryKey(url: URL, timeoutMs = 10_000): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new QueryError(
      `could not reach ${url.origin}: ${(err as Error).message}: check that the application runs with its query endpoint on --url`,
    );
  }
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      const parsed = JSON.parse(body) as { error?: string; message?: string };
      message = parsed.error ?? parsed.message ?? body;
    } catch {
      // not JSON: the body as is
    }
    throw new QueryError(`${url.pathname}: HTTP ${response.status}: ${message}`);
  }
  try {
    return `${JSON.stringify(JSON.parse(body), null, 2)}\n`;
  } catch {
    return body.endsWith('\n') ? body : `${body}\n`;
  }
}
