"""The marketing studio: pages served at ``/studio`` by the API (:mod:`ccm.web.routes`),
signed in with a session made from a marketing API key (:mod:`ccm.web.session`).

Deliberately empty of imports: the API's key check imports :mod:`ccm.web.session`, and
the routes import the API's dependencies, so importing the routes here would make a cycle.
"""
