/** The attribution operations of the `HiggsServices` port; scoped by `ctx.principal.tenantId`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled as the area's tools land
export interface AttributionServices {}
