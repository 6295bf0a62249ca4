package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.StableName;

/**
 * One place a source table is read in the query's FROM clauses ({@code public.orders o}). A
 * self-join reads one source in two occurrences; the delta has one term per occurrence.
 *
 * @param span the text {@code schema.table [alias]}, replaced by a derived table in delta terms
 * @param refName the name columns are qualified with ({@code o}, or the table's name)
 * @param source the captured source it reads
 */
public record TableOccurrence(Span span, String refName, StableName source) {}
