"""API keys and the roles they carry."""

from ccm.auth.service import Principal, Role, authenticate, create_api_key

__all__ = ["Principal", "Role", "authenticate", "create_api_key"]
