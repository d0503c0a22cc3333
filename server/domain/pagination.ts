// List parameters of the API (Stripe-style cursors), checked in one place.
import { invalidParam } from "../errors";

/** A checked page request. */
export interface PageParams {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

/** Default and maximum page sizes. */
export const PAGE_LIMITS = { default: 10, max: 100 } as const;

/** Checks `limit` (1–100, default 10) and the cursors (at most one of them). */
export function parsePage(req: { limit?: number; starting_after?: string; ending_before?: string }): PageParams {
  const limit = req.limit ?? PAGE_LIMITS.default;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMITS.max) {
    throw invalidParam("limit", `Invalid limit: must be an integer from 1 to ${PAGE_LIMITS.max}.`);
  }
  const startingAfter = req.starting_after || undefined;
  const endingBefore = req.ending_before || undefined;
  if (startingAfter && endingBefore) {
    throw invalidParam("ending_before", "You may only specify one of these parameters: starting_after, ending_before.");
  }
  return { limit, startingAfter, endingBefore };
}

/**
 * Turns rows fetched with one extra (limit + 1) into a page: newest first in
 * both directions (rows read for `ending_before` come oldest first and are reversed).
 */
export function toPage<T>(rows: T[], page: PageParams): { rows: T[]; hasMore: boolean } {
  const hasMore = rows.length > page.limit;
  const kept = rows.slice(0, page.limit);
  if (page.endingBefore) kept.reverse();
  return { rows: kept, hasMore };
}
