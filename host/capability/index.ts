// Capability tokens: who may do what on the control plane.
//
// The two refusal codes, decided here once:
//   UNAUTHENTICATED    the text is not a live token of THIS host: empty, malformed, oversized,
//                      non-ASCII, a changed MAC, truncated or extended, an unknown grant, another
//                      host's key, expired, or revoked (itself, its grant, or any ancestor).
//   PERMISSION_DENIED  a live token that does not cover the request (tenant, permission, service;
//                      when granting, also expiry); details { missing, need, tokenId }.
// Messages and details name a token by its id (tokenId), never by its text.
export { PERMISSIONS, authorize, type Permission, type Authority, type Need } from "./permissions.ts";
export { Capabilities, HOST_TENANT, MAX_TTL_MS, type GrantRequest, type Granted, type GrantInfo } from "./capabilities.ts";
export { attenuate, tokenId, MAX_TOKEN_CHARS, MAX_CAVEATS, type Narrower } from "./token.ts";
