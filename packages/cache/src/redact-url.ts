/**
 * A URL safe to show: user name, password and query string (which may carry a signed
 * token) are replaced. Unparseable text is shown as `<invalid URL>`.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return '<invalid URL>';
  }
  const redacted = new URL(parsed.href);
  if (redacted.username !== '' || redacted.password !== '') {
    redacted.username = 'redacted';
    redacted.password = '';
  }
  if (redacted.search !== '') redacted.search = '?redacted';
  redacted.hash = '';
  return redacted.href;
}
