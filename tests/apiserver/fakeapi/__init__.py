"""A Kubernetes API-server test double (stdlib only).

Modules: ``selectors`` (label and field selectors), ``resources`` (the
served resource types and discovery documents), ``objects`` (stamping,
defaulting, patching), ``store`` (objects, the global resourceVersion, the
event history and watches), ``api`` (the HTTPS API handler), ``control``
(the plain-HTTP control API for tests), ``certs`` (the CA and server
certificate), ``server`` (wiring, down/up/restart).
"""
