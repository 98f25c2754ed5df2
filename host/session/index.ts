export { Session } from "./session.ts";
export { DenialLog, HOST_EVENTS_TENANT, type Denial, type DenialBudget } from "./denials.ts";
export { ensureAdminToken } from "./admin-token.ts";
