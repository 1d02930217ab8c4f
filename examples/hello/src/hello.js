// A wasi:http component in the fetch-event style: one request per instance.
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const body = request.method === 'POST' ? await request.text() : '';
  const lines = [
    `Hello from Spinel! You asked for ${url.pathname}${url.search}`,
    `spin-path-info: ${request.headers.get('spin-path-info') ?? ''}`,
  ];
  if (body !== '') lines.push(`You sent ${body.length} characters.`);
  return new Response(`${lines.join('\n')}\n`, {
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}
