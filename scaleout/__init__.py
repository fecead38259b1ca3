"""Scale-out roles: one writer, many stateless web processes, a shared Redis (opt-in; `python app.py` is unchanged).

bus.py       Redis key names and the messages both roles exchange (the only place that knows them)
publish.py   writer: builds each watched wall view once per data version and publishes it with its Patch
snapshot.py  writer: read-only copies of the store for analysts, served over HTTP; web: fetches and opens them
push.py      web: wall views from Redis (polling) and the WebSocket fan-out of new versions (push)
roles.py     the two commands: `python app.py writer` and `python app.py web`
"""
