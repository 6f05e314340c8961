"""OpenAPI postprocessing: the error answers every operation can give, written into the schema.

The views document their success bodies (and a few specific errors); the codes below come from
the shared machinery (authentication, permissions, throttling, the exception handler, the body
size middleware), so they are added here once rather than on every view. A code a view already
documents is left as the view wrote it.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "DRF's error body: `detail` (and often `code`), or for 400 a message list per field.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

ALWAYS = {
    "401": "No credentials, or credentials that are not valid.",
    "403": "The caller's role is too low for this operation.",
    "429": "Too many requests for this caller; retry after the Retry-After header.",
    "503": "The catalog database (or the identity provider) is unavailable; retry later.",
}
WITH_INPUT = {"400": "Invalid input; the body names each offending field."}
WITH_PATH = {"404": "Not found, or not in the caller's organization (or no such page or cursor)."}
WITH_BODY = {
    "409": "The request conflicts with the stored state (a different version, an illegal transition, a duplicate).",
    "413": "The request body is larger than DATAXPIPE_MAX_BODY_BYTES.",
    "415": "The request body is not in a supported media type.",
}
CREATION = {"402": "A plan limit is reached; the body gives the limit and the usage."}
WRITE_METHODS = ("post", "put", "patch", "delete")


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", *WRITE_METHODS) or not isinstance(operation, dict):
                continue
            if not operation.get("security"):
                continue  # a public operation: none of the auth answers apply
            codes = dict(ALWAYS)
            parameters = operation.get("parameters", [])
            if parameters or "requestBody" in operation or method in WRITE_METHODS:
                codes |= WITH_INPUT
            # A path id not in the caller's organization, or a page number past the last page.
            if any(
                parameter.get("in") == "path" or parameter.get("name") in ("page", "cursor") for parameter in parameters
            ):
                codes |= WITH_PATH
            if method in WRITE_METHODS:
                codes |= WITH_BODY
            if method == "post":
                codes |= CREATION
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
                )
    return result
