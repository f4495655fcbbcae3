"""The one exception tree of ccm.

Every error the core raises is a :class:`CCMError` with a stable machine-readable
``code``. The HTTP layer maps codes to status codes, the CLI to a message and an exit
status; the core itself knows nothing of either.

    CCMError
    ├── AuthenticationError            code: unauthenticated (no key, or an unknown one)
    │   └── WebhookSignatureError      code: webhook_signature_invalid
    ├── PermissionDeniedError          code: forbidden (the key lacks the role)
    ├── NotFoundError                  code: not_found
    │   └── UnknownCustomerError       code: customer_unknown
    ├── NotAcceptableError             code: not_acceptable (no reply format the client takes)
    ├── ConflictError                  code: conflict
    │   ├── ImmutableVersionError      code: immutable_version
    │   ├── IdempotencyKeyReusedError  code: idempotency_key_reused
    │   ├── IdempotencyInProgressError code: idempotency_in_progress
    │   ├── EventIdReusedError         code: event_id_reused (same id, other content)
    │   ├── LifecycleError             code: lifecycle_invalid (a step its status forbids)
    │   │   ├── ApprovalRequiredError  code: approval_required (publishing unapproved work)
    │   │   └── FourEyesError          code: four_eyes (an author approving their own work)
    │   └── BlockInUseError            code: block_in_use (deleting a block still included)
    ├── ArtifactError                  code: artifact_unavailable
    │   └── ArtifactCorruptError       code: artifact_corrupt (stored bytes changed)
    ├── RegistryError                  code: registry_invalid
    │   ├── LintFailedError            code: lint_failed (off-brand work sent to review)
    │   ├── ExpressionError            code: expression_invalid (a journey condition)
    │   └── JourneyInvalidError        code: journey_invalid (carries every problem)
    ├── TrackingLinkInvalidError       code: tracking_link_invalid (forged or altered)
    ├── DeliveryError                  code: delivery_failed
    ├── InputError                     code: input_invalid
    │   ├── InputTooLargeError         code: input_too_large
    │   ├── MalformedBodyError         code: malformed_body (a request body that is not JSON)
    │   ├── ForbiddenMarkupError       code: input_forbidden_markup
    │   └── DataValidationError        code: data_invalid (carries violations)
    │       └── RequestInvalidError    code: request_invalid (the request's own fields)
    └── RenderError                    code: render_failed
        ├── TemplateSyntaxError        code: template_syntax
        ├── TemplateDataError          code: template_data (undefined variable, bad value)
        ├── SandboxViolationError      code: sandbox_violation
        ├── RenderBudgetExceededError  code: render_budget_exceeded
        ├── RenderWorkerLostError      code: render_worker_lost (retry: the worker died)
        └── SmsTooLongError            code: sms_too_long
"""

from __future__ import annotations

from dataclasses import dataclass


class CCMError(Exception):
    """Base of every error ccm raises on purpose."""

    code = "ccm_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AuthenticationError(CCMError):
    code = "unauthenticated"


class WebhookSignatureError(AuthenticationError):
    """A provider callback without a valid signature (or with no secret configured)."""

    code = "webhook_signature_invalid"


class PermissionDeniedError(CCMError):
    code = "forbidden"


class NotFoundError(CCMError):
    code = "not_found"


class NotAcceptableError(CCMError):
    code = "not_acceptable"


class ConflictError(CCMError):
    code = "conflict"


class ImmutableVersionError(ConflictError):
    """A published version was asked to change."""

    code = "immutable_version"


class IdempotencyKeyReusedError(ConflictError):
    """An idempotency key came back with a different request."""

    code = "idempotency_key_reused"


class IdempotencyInProgressError(ConflictError):
    """The first request with this idempotency key is still being processed."""

    code = "idempotency_in_progress"


class LifecycleError(ConflictError):
    """A lifecycle step the version's status does not allow (approving a draft, say)."""

    code = "lifecycle_invalid"


class ApprovalRequiredError(LifecycleError):
    code = "approval_required"


class FourEyesError(LifecycleError):
    """The approver must be someone other than the version's author."""

    code = "four_eyes"


class BlockInUseError(ConflictError):
    code = "block_in_use"


class ArtifactError(CCMError):
    """The artifact store could not store or return a document's bytes."""

    code = "artifact_unavailable"


class ArtifactCorruptError(ArtifactError):
    """Stored bytes no longer match their SHA-256: the artifact was altered or damaged."""

    code = "artifact_corrupt"


class RegistryError(CCMError):
    """A brand, template, block or registry folder is not valid."""

    code = "registry_invalid"


class LintFailedError(RegistryError):
    """Brand governance findings stop a version from going to review; carries them."""

    code = "lint_failed"

    def __init__(self, detail: str, findings: list[dict[str, object]]) -> None:
        super().__init__(detail)
        self.findings = findings


class ExpressionError(RegistryError):
    """A journey condition is not valid in the expression language; ``position`` is the
    0-based character offset of the problem in the source, when known."""

    code = "expression_invalid"

    def __init__(self, detail: str, *, source: str = "", position: int | None = None) -> None:
        super().__init__(detail)
        self.source = source
        self.position = position


class JourneyInvalidError(RegistryError):
    """A journey definition has problems; ``problems`` names every one of them."""

    code = "journey_invalid"

    def __init__(self, journey: str, problems: list[str]) -> None:
        self.journey = journey
        self.problems = problems
        super().__init__(f"journey {journey!r} has {len(problems)} problem(s): "
                         + "; ".join(problems))


class TrackingLinkInvalidError(CCMError):
    """A tracking, click or unsubscribe link was forged, altered or is not ours."""

    code = "tracking_link_invalid"


class DeliveryError(CCMError):
    """A send could not be handed to its channel."""

    code = "delivery_failed"


class UnknownCustomerError(NotFoundError):
    """An event names a customer ccm does not know, and unknown customers are refused."""

    code = "customer_unknown"


class EventIdReusedError(ConflictError):
    """An event id came back with different content."""

    code = "event_id_reused"


class InputError(CCMError):
    """Customer data could not be read (malformed JSON or XML, wrong shape)."""

    code = "input_invalid"


class InputTooLargeError(InputError):
    code = "input_too_large"


class MalformedBodyError(InputError):
    code = "malformed_body"


class ForbiddenMarkupError(InputError):
    """XML with a DTD, an entity or a processing instruction that could reach outside."""

    code = "input_forbidden_markup"


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem in customer data: a JSON Pointer path and what is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class DataValidationError(InputError):
    """The data does not match the template's schema; lists every violation."""

    code = "data_invalid"

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "; ".join(str(v) for v in violations)
        super().__init__(f"{len(violations)} data violation(s): {lines}")


class RequestInvalidError(DataValidationError):
    """The fields of a request (not the customer data in it) are missing or wrong."""

    code = "request_invalid"


class RenderError(CCMError):
    code = "render_failed"


class TemplateSyntaxError(RenderError):
    code = "template_syntax"

    def __init__(self, detail: str, *, template: str | None = None, line: int | None = None):
        super().__init__(detail)
        self.template = template
        self.line = line


class TemplateDataError(RenderError):
    """The template used a variable or value the data does not provide."""

    code = "template_data"


class SandboxViolationError(RenderError):
    """The template tried to reach something the sandbox forbids."""

    code = "sandbox_violation"


class RenderBudgetExceededError(RenderError):
    """The template used more time, memory or output than a render may."""

    code = "render_budget_exceeded"


class RenderWorkerLostError(RenderError):
    """The process rendering a document stopped before it finished; a retry may work."""

    code = "render_worker_lost"


class SmsTooLongError(RenderError):
    code = "sms_too_long"
