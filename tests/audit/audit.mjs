// Runs graphql-http's GraphQL-over-HTTP server audits against a live gateway and prints one
// JSON line per audit: {id, name, status, reason}. Usage: node audit.mjs URL [API_KEY]
import { auditServer } from 'graphql-http';

const [url, key] = process.argv.slice(2);
// The audits send no credentials; the gateway wants an API key on every request.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
for (const r of results) {
  const reason = r.status === 'ok' ? '' : r.reason;
  console.log(JSON.stringify({ id: r.id, name: r.name, status: r.status, reason }));
}
