// List pages and auto-pagination: `await list(...)` is one page;
// `for await (const x of list(...))` walks every page with `starting_after`.

/** One page of a list, as the API returns it. */
export interface Page<T> {
  object: string;
  data: T[];
  has_more: boolean;
  url: string;
}

/** A page promise that is also an async iterator over every item of every page. */
export type ListPromise<T> = Promise<Page<T>> & AsyncIterable<T>;

/** Builds a ListPromise from a page fetcher (called with the cursor params for each page). */
export function listPromise<T extends { id: string }>(
  fetchPage: (params: Record<string, unknown>) => Promise<Page<T>>,
  params: Record<string, unknown>,
): ListPromise<T> {
  const first = fetchPage(params);
  const iterate = async function* (): AsyncGenerator<T> {
    let page = await first;
    // Walking backwards (`ending_before`) pages towards newer objects; forwards towards older.
    const backwards = params.ending_before !== undefined && params.starting_after === undefined;
    for (;;) {
      const items = backwards ? [...page.data].reverse() : page.data;
      yield* items;
      if (!page.has_more || page.data.length === 0) return;
      const cursor = backwards ? { ending_before: page.data[0].id } : { starting_after: page.data[page.data.length - 1].id };
      const { starting_after: _s, ending_before: _e, ...rest } = params;
      page = await fetchPage({ ...rest, ...cursor });
    }
  };
  return Object.assign(first, { [Symbol.asyncIterator]: iterate }) as ListPromise<T>;
}
