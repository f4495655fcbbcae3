"""``/v1/api-keys``: who may call the API, and with which roles (admin)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ccm.api.deps import Admin, AdminIdempotency, Services
from ccm.api.schemas import problem_responses
from ccm.auth.models import ApiKey
from ccm.auth.service import Role, create_api_key, list_api_keys, revoke_api_key
from ccm.db.base import as_utc

router = APIRouter(tags=["api-keys"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "billing-system", "roles": ["billing"]}]})

    name: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1)


class ApiKeyOut(BaseModel):
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    roles: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once; only its hash is kept.")


def key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(name=row.name, prefix=row.prefix, roles=list(row.roles),
                     created_at=as_utc(row.created_at), revoked_at=as_utc(row.revoked_at))


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated,
             summary="Create a key (shown once)",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
def create_key(body: ApiKeyCreate, request: Request, services: Services, _principal: Admin,
               guard: AdminIdempotency) -> Response:
    with services.unit_of_work() as session:
        row, key = create_api_key(session, body.name, [r.value for r in body.roles])
        created = ApiKeyCreated(**key_out(row).model_dump(), key=key)
        response = JSONResponse(created.model_dump(mode="json"), status_code=201)
        return guard.keep(session, response)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="All keys (never the keys "
            "themselves)", responses=problem_responses(401, 403))
def keys(services: Services, _principal: Admin) -> list[ApiKeyOut]:
    with services.unit_of_work() as session:
        return [key_out(row) for row in list_api_keys(session)]


@router.delete("/api-keys/{name}", response_model=ApiKeyOut, summary="Revoke a key",
               responses=problem_responses(401, 403, 404))
def revoke_key(name: str, services: Services, _principal: Admin) -> ApiKeyOut:
    with services.unit_of_work() as session:
        return key_out(revoke_api_key(session, name))
