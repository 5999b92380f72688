"""The trade lifecycle: request, open, close, settle, cancel (docs/trading.md).

`services` writes (each owns its transaction, locks the trade row first and
publishes its event in the same transaction), `settlement` settles due trades
in batches, `selectors` reads, `api`/`views` are the HTTP edges and
`trading.tasks` the Celery edge.
"""
