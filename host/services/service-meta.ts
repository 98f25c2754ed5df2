// What a deploy may say about a service for discovery: a description and tags. Stored with the
// service (records from before have none), shown in status and answered by discover().
import { SoloError } from "../errors.ts";
import { CAPABILITY_NAME } from "../capability/guest.ts";

export const MAX_DESCRIPTION_CHARS = 500;
export const MAX_TAGS = 16;

export interface ServiceMeta {
  description: string;
  /** Sorted, de-duplicated; each a name like a capability's (1-63 of a-z, 0-9, _ and -). */
  tags: string[];
}

/** A deploy's description and tags, checked; INVALID_ARGUMENT names the field. */
export function resolveServiceMeta(description: unknown, tags: unknown): ServiceMeta {
  if (description !== undefined && typeof description !== "string") throw new SoloError("INVALID_ARGUMENT", "description must be a string", { field: "description" });
  const d = description ?? "";
  if (d.length > MAX_DESCRIPTION_CHARS) throw new SoloError("INVALID_ARGUMENT", `description is ${d.length} characters; at most ${MAX_DESCRIPTION_CHARS}`, { field: "description" });
  if (tags === undefined) return { description: d, tags: [] };
  if (!Array.isArray(tags)) throw new SoloError("INVALID_ARGUMENT", "tags must be a list of strings", { field: "tags" });
  if (tags.length > MAX_TAGS) throw new SoloError("INVALID_ARGUMENT", `at most ${MAX_TAGS} tags may be given, got ${tags.length}`, { field: "tags" });
  for (const t of tags) {
    if (typeof t !== "string" || !CAPABILITY_NAME.test(t)) {
      const shown = typeof t === "string" ? JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}...` : t) : String(t);
      throw new SoloError("INVALID_ARGUMENT", `tag ${shown} is malformed: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`, { field: "tags" });
    }
  }
  return { description: d, tags: [...new Set(tags as string[])].sort() };
}

/** A tag asked for in discover({ tag }); INVALID_ARGUMENT (field `tag`) if no service could have it. */
export function checkTag(tag: unknown): string {
  if (typeof tag !== "string" || !CAPABILITY_NAME.test(tag)) throw new SoloError("INVALID_ARGUMENT", `tag must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`, { field: "tag" });
  return tag;
}

/** A stored record's metadata, whatever it holds (records from before have none). */
export function storedMeta(meta: { description?: unknown; tags?: unknown }): ServiceMeta {
  try {
    return resolveServiceMeta(meta.description, meta.tags);
  } catch {
    return { description: "", tags: [] };
  }
}
