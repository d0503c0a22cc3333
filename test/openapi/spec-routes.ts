// The REST routes the API design names, and those around them that the SDKs
// call: the OpenAPI document and the /docs page must show each one.
import { DESIGN_ROUTES, ROUTES_AROUND_THE_DESIGN } from "../support/routes";

/** `METHOD /path` of every route the spec or the SDKs rely on. */
export const OPENAPI_ROUTES_FROM_SPEC = [...DESIGN_ROUTES, ...ROUTES_AROUND_THE_DESIGN];
