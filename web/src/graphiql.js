// GraphiQL at GET /graphql (a browser asking for HTML): the graphiql package's IDE, bundled at
// build time (no CDN), talking to walcast over its own GraphQL socket with the real graphql-ws
// client — queries, introspection and subscriptions alike. The token goes in the Headers tab
// as {"Authorization": "Bearer <jwt>"} (or {"apikey": "<jwt>"}); in the embedded development
// mode the anon JWT walcast printed is filled in. Headers become connectionParams: a change of
// headers opens a new socket.
import React from 'react'
import { createRoot } from 'react-dom/client'
import { GraphiQL } from 'graphiql'
import { createClient } from 'graphql-ws'

const wsUrl = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`

let current = { key: null, client: null }

function clientFor(headers) {
  const key = JSON.stringify(headers ?? {})
  if (current.key !== key) {
    current.client?.dispose()
    current = {
      key,
      client: createClient({ url: wsUrl, connectionParams: headers ?? {}, lazy: true, retryAttempts: 0 }),
    }
  }
  return current.client
}

/// GraphiQL's fetcher: every operation over the socket, results as an async iterable (one for
/// a query, one per change for a subscription). A close (refused token, …) surfaces as an error.
function fetcher(params, opts) {
  const client = clientFor(opts?.headers)
  const it = client.iterate({ query: params.query, variables: params.variables ?? undefined, operationName: params.operationName ?? undefined })
  return {
    [Symbol.asyncIterator]() {
      return {
        async next() {
          try {
            return await it.next()
          } catch (e) {
            const errors = Array.isArray(e) ? e : [{ message: e?.reason ? `socket closed ${e.code}: ${e.reason}` : String(e?.message ?? e) }]
            return { done: false, value: { errors } }
          }
        },
        return() {
          return it.return ? it.return() : Promise.resolve({ done: true, value: undefined })
        },
      }
    },
  }
}

async function main() {
  let anon = null
  try {
    const r = await fetch('/inspector/config.json')
    if (r.ok) anon = (await r.json()).anon_jwt
  } catch {
    // no hint: the user pastes a token
  }
  const defaultHeaders = JSON.stringify({ Authorization: `Bearer ${anon ?? '<paste a JWT signed with JWT_SECRET>'}` }, null, 2)
  const root = createRoot(document.getElementById('graphiql'))
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultHeaders,
      shouldPersistHeaders: true,
      defaultQuery: '# walcast GraphQL: queries and subscriptions over the graphql-transport-ws socket.\n{\n  __schema {\n    queryType { name }\n  }\n}\n',
    })
  )
}

main()
