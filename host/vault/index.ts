// The vault: tenants' secrets sealed at rest with the host's master key, and what guests read
// through the `secrets` import. docs/SECURITY.md has the key handling and rotation.
export { Vault, RESEAL_BATCH, type SecretInfo, type RotationReport, type SecretListener, type VaultOptions } from "./vault.ts";
export { SecretAccessLog } from "./access-log.ts";
export { MAX_SECRET_BYTES, MAX_SECRETS_PER_TENANT, checkSecretName, checkSecretValue } from "./limits.ts";
export { KEY_FILE, NEXT_KEY_FILE, MASTER_KEY_ENV, PREVIOUS_KEY_ENV, MASTER_KEY_BYTES, keyId, parseKey } from "./master-key.ts";
