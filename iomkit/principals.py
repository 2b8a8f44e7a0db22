"""Principals on the broker: SCRAM users and exactly the ACLs their grant gives
(iomkit.access), made and revoked by the operator (`iom credentials`).

aiokafka's admin client has no call for SCRAM users and sends one ACL per request, so the
Kafka protocol requests are built here from aiokafka's own structures
(AlterUserScramCredentials v0, CreateAcls/DescribeAcls/DeleteAcls v1).

Revocation removes the ACLs first: the authorizer checks every request, so a client that
is still connected is refused from its next produce or fetch on; then the SCRAM user, so
no new connection authenticates.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, for_code
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from iomkit import kafka
from iomkit.access import Acl, Grant, Operation, Pattern, Resource
from iomkit.clientconfig import ClientConfig
from iomkit.settings import Settings

SCRAM_SHA_512 = 2  # Kafka's ScramMechanism code
ITERATIONS = 8192  # Kafka accepts 4096..16384 for SCRAM-SHA-512
ANY = 1  # the "any" code of AclResourceType, PatternType, AclOperation, AclPermissionType
ALLOW = 3
RESOURCE_NOT_FOUND = 91  # deleting a SCRAM user that is not there


class PrincipalError(RuntimeError):
    """The broker refused an operator request; the message carries its error."""


# -- the protocol requests ------------------------------------------------------------------


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", CompactArray(("user", CompactString("utf-8")), ("error_code", Int16),
                                 ("error_message", CompactString("utf-8")),
                                 ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8),
                                   ("tags", TaggedFields))),
        ("upsertions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8),
                                    ("iterations", Int32), ("salt", CompactBytes),
                                    ("salted_password", CompactBytes),
                                    ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51

    def __init__(self, deletions: list[str], upsertions: list[tuple[str, str]]) -> None:
        self.deletions = deletions
        self.upsertions = upsertions

    def __repr__(self) -> str:  # never the salted passwords
        return f"<AlterUserScramCredentials users={[u for u, _ in self.upsertions]}>"

    def build(self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]
              ) -> AlterUserScramCredentialsRequest_v0:
        upsertions = []
        for name, password in self.upsertions:
            salt = os.urandom(32)
            # SCRAM's Hi() is PBKDF2 with the mechanism's HMAC (RFC 5802); the broker
            # keeps only keys derived from it, never the password.
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            upsertions.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))
        return request_struct_class(
            [(name, SCRAM_SHA_512, {}) for name in self.deletions], upsertions, {})


_Binding: TypeAlias = tuple[int, str | None, int, str, str | None, int, int]


class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, bindings: list[_Binding]) -> None:
        self.bindings = bindings

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self.bindings)


class _DeleteAcls(Request[DeleteAclsRequest_v1]):
    API_KEY = 31

    def __init__(self, filters: list[_Binding]) -> None:
        self.filters = filters

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self.filters)


class _DescribeAcls(Request[DescribeAclsRequest_v1]):
    API_KEY = 29

    def __init__(self, principal: str) -> None:
        self.principal = principal

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]
              ) -> DescribeAclsRequest_v1:
        return request_struct_class(ANY, None, ANY, self.principal, None, ANY, ANY)


def _binding(principal: str, acl: Acl) -> _Binding:
    return (int(acl.resource), acl.name, int(acl.pattern), principal, "*",
            int(acl.operation), ALLOW)


def _raise_for(code: int, message: str | None, what: str) -> None:
    if code:
        error = for_code(code)
        raise PrincipalError(f"{what}: {error.__name__} ({code}) {message or ''}".rstrip())


async def _send(client: AIOKafkaAdminClient, request: Request[Any]) -> Any:
    # aiokafka's admin client has no public call for these requests; its own send (to any
    # broker: the broker forwards to the controller) is the least private way in.
    return await client._send_request(request)


# -- operations -----------------------------------------------------------------------------


def user(name: str) -> str:
    return f"User:{name}"


async def acls_of(client: AIOKafkaAdminClient, name: str) -> set[Acl]:
    response = await _send(client, _DescribeAcls(user(name)))
    _raise_for(response.error_code, response.error_message, f"describe ACLs of {name}")
    found: set[Acl] = set()
    for resource_type, resource_name, pattern, acls in response.resources:
        for _principal, _host, operation, _permission in acls:
            found.add(Acl(Resource(resource_type), resource_name, Pattern(pattern),
                          Operation(operation)))
    return found


async def set_acls(client: AIOKafkaAdminClient, grant: Grant) -> None:
    """Exactly the grant's ACLs: the missing are added before the extra are removed, so
    re-running (a rotation, a changed grant) never leaves a running client without its
    rights for a moment."""
    wanted, present = set(grant.acls()), await acls_of(client, grant.principal)
    principal = user(grant.principal)
    missing = sorted(wanted - present)
    if missing:
        response = await _send(client, _CreateAcls([_binding(principal, a) for a in missing]))
        for (code, message), acl in zip(response.creation_responses, missing, strict=True):
            _raise_for(code, message, f"create ACL {acl} for {grant.principal}")
    extra = sorted(present - wanted)
    if extra:
        await _delete_acls(client, [_binding(principal, a) for a in extra], grant.principal)


async def _delete_acls(client: AIOKafkaAdminClient, filters: list[_Binding], name: str) -> int:
    response = await _send(client, _DeleteAcls(filters))
    deleted = 0
    for code, message, matching in response.filter_responses:
        _raise_for(code, message, f"delete ACLs of {name}")
        deleted += len(matching)
    return deleted


async def set_password(client: AIOKafkaAdminClient, name: str, password: str) -> None:
    response = await _send(client, _AlterScram([], [(name, password)]))
    for _user, code, message, _tags in response.results:
        _raise_for(code, message, f"set the SCRAM password of {name}")


@dataclass(frozen=True)
class Issued:
    principal: str
    client_properties: Path
    librdkafka_properties: Path
    acls: int


async def create(operator: Settings, grant: Grant, folder: Path) -> Issued:
    """Make (or rotate) ``grant``'s principal: a fresh SCRAM password, exactly the grant's
    ACLs, and in ``folder`` its two client files and the CA they name (bootstrap and CA
    as the operator's)."""
    mine = operator.kafka_client()
    if not mine.secured or mine.ca_file is None:
        raise PrincipalError("credentials are made over SASL_SSL: set IOM_KAFKA_CLIENT_CONFIG "
                             "to the operator's client.properties")
    password = secrets.token_urlsafe(24)
    client = await kafka.admin(operator)
    try:
        # ACLs first: the broker applies its metadata log in order, so once the new
        # password logs in (below) the ACLs are in force too.
        await set_acls(client, grant)
        await set_password(client, grant.principal, password)
    finally:
        await client.close()
    java, rdkafka = _hand_over(folder, mine, grant.principal, password)
    await _until_it_logs_in(Settings(kafka_client_config=java))
    return Issued(grant.principal, java, rdkafka, len(grant.acls()))


def _hand_over(folder: Path, operator: ClientConfig, name: str, password: str
               ) -> tuple[Path, Path]:
    """The principal's two client files and, beside them, the CA they name: the folder is
    all a client needs (handed over as one)."""
    assert operator.ca_file is not None
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = (folder / "ca.pem").resolve()
    if ca_file != operator.ca_file.resolve():
        shutil.copyfile(operator.ca_file, ca_file)
    return ClientConfig(operator.bootstrap_servers, "SASL_SSL", name, password,
                        ca_file).write(folder)


async def _until_it_logs_in(principal: Settings, within: float = 30.0) -> None:
    """The controller has the new credential when the request returns; the broker's
    listener has it a moment later. Return once it has, so the files are usable at once."""
    deadline = asyncio.get_running_loop().time() + within
    # aiokafka logs each refused login as an error; here a refusal or two is expected.
    bootstrap_log = logging.getLogger("aiokafka.client")
    level = bootstrap_log.level
    bootstrap_log.setLevel(logging.CRITICAL)
    try:
        while True:
            try:
                client = await kafka.admin(principal)
            except KafkaConnectionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise PrincipalError(f"{principal.kafka_client().username}: the new "
                                         f"password did not log in within {within}s") from None
                await asyncio.sleep(0.2)
                continue
            await client.close()
            return
    finally:
        bootstrap_log.setLevel(level)


async def revoke(operator: Settings, name: str) -> tuple[int, bool]:
    """Remove every ACL of ``name`` (in force at once, even on open connections), then its
    SCRAM user. Returns (ACLs removed, whether a user was removed)."""
    client = await kafka.admin(operator)
    try:
        removed = await _delete_acls(client, [(ANY, None, ANY, user(name), None, ANY, ANY)],
                                     name)
        response = await _send(client, _AlterScram([name], []))
        existed = True
        for _user, code, message, _tags in response.results:
            if code == RESOURCE_NOT_FOUND:
                existed = False
                continue
            _raise_for(code, message, f"delete the SCRAM user {name}")
        return removed, existed
    finally:
        await client.close()
