/**
 * Adoption: converting an install of the upstream pg_trickle extension (up to 0.31, objects named
 * after OIDs) into ours, on explicit request. {@link io.pgtrickle.operator.adopt.Adoption} runs it:
 * one database transaction that parks the upstream catalog, creates ours and moves each source's
 * capture to its stable names with its pending changes; then the slot handover after the commit;
 * then the upstream stream tables are registered with our engine and re-synced once in full.
 */
package io.pgtrickle.operator.adopt;
